import { useState } from 'preact/hooks';
import * as ipc from '../lib/ipc';
import type { ModelKind, QuarryErrorShape, Settings } from '../lib/types';

/**
 * Choosing a model on disk, as the first-run screen and the model banner
 * offer it: the file dialog (a folder for the embedder, a `.gguf` for the
 * answer model), then `choose_model`, which checks and links it. `busy` is
 * the kind being checked; `error` says why the last choice was refused.
 */
export function useChooseModel(onChosen: (settings: Settings) => void) {
  const [busy, setBusy] = useState<ModelKind | null>(null);
  const [error, setError] = useState<QuarryErrorShape | null>(null);
  const choose = async (kind: ModelKind) => {
    setError(null);
    try {
      const path = kind === 'embedder' ? await ipc.pickFolder() : await ipc.pickFile('GGUF answer model', ['gguf']);
      if (!path) return;
      setBusy(kind);
      onChosen(await ipc.chooseModel(kind, path));
    } catch (err) {
      setError(ipc.toQuarryError(err));
    } finally {
      setBusy(null);
    }
  };
  return { busy, error, choose };
}
