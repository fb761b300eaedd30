import { useCallback, useEffect, useReducer, useRef, useState } from 'preact/hooks';
import * as ipc from '../lib/ipc';
import { ingestReducer, initialIngest, type IngestState } from '../lib/ingest';
import type { LibraryOverview, QuarryErrorShape } from '../lib/types';

export interface Library {
  overview: LibraryOverview | null;
  loadError: QuarryErrorShape | null;
  ingest: IngestState;
  /** An ingest is going on (from its events, or the overview when the UI joined late). */
  running: boolean;
  actionError: QuarryErrorShape | null;
  clearActionError: () => void;
  reload: () => Promise<void>;
  addPaths: (paths: string[]) => Promise<void>;
  pickAndAdd: (directory: boolean) => Promise<void>;
  reindex: (paths: string[]) => Promise<void>;
  remove: (paths: string[]) => Promise<void>;
  cancel: () => Promise<void>;
  /** Re-embed every passage with the embedder now chosen (after a change of model or precision). */
  reembed: () => Promise<void>;
}

/** The library overview, live ingest progress, and the actions on them. */
export function useLibrary(): Library {
  const [overview, setOverview] = useState<LibraryOverview | null>(null);
  const [loadError, setLoadError] = useState<QuarryErrorShape | null>(null);
  const [actionError, setActionError] = useState<QuarryErrorShape | null>(null);
  const [ingest, dispatch] = useReducer(ingestReducer, initialIngest);
  const seq = useRef(0);
  const alive = useRef(true);

  const reload = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const next = await ipc.libraryOverview();
      if (alive.current && mine === seq.current) {
        setOverview(next);
        setLoadError(null);
      }
    } catch (err) {
      if (alive.current && mine === seq.current) setLoadError(ipc.toQuarryError(err));
    }
  }, []);

  useEffect(() => {
    alive.current = true;
    void reload();
    const offProgress = ipc.onIngestProgress((event) => {
      dispatch(event);
      if (event.kind === 'finished' || event.kind === 'failed') void reload();
    });
    const offChanged = ipc.onLibraryChanged(() => void reload());
    return () => {
      alive.current = false;
      offProgress();
      offChanged();
    };
  }, [reload]);

  const act = useCallback(async (fn: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await fn();
    } catch (err) {
      if (alive.current) setActionError(ipc.toQuarryError(err));
    }
  }, []);

  const addPaths = useCallback(
    (paths: string[]) => (paths.length ? act(() => ipc.addPaths(paths)) : Promise.resolve()),
    [act],
  );
  const pickAndAdd = useCallback(
    (directory: boolean) =>
      act(async () => {
        const paths = await ipc.pickPaths(directory);
        if (paths.length) await ipc.addPaths(paths);
      }),
    [act],
  );
  const reindex = useCallback((paths: string[]) => act(() => ipc.reindex(paths)), [act]);
  const remove = useCallback(
    (paths: string[]) =>
      act(async () => {
        await ipc.removePaths(paths);
        await reload();
      }),
    [act, reload],
  );
  const cancel = useCallback(() => act(() => ipc.cancelIngest()), [act]);
  const reembed = useCallback(() => act(() => ipc.reembedLibrary()), [act]);

  return {
    overview,
    loadError,
    ingest,
    running: ingest.running || (!ingest.summary && !ingest.error && !!overview?.ingest_running),
    actionError,
    clearActionError: () => setActionError(null),
    reload,
    addPaths,
    pickAndAdd,
    reindex,
    remove,
    cancel,
    reembed,
  };
}
