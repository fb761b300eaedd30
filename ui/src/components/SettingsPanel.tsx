import { Fragment, type ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import * as ipc from '../lib/ipc';
import type { ModelInfo, Precision, QuarryErrorShape, Settings } from '../lib/types';
import { ErrorNotice } from './ErrorNotice';

interface Props {
  onSaved: (settings: Settings) => void;
}

const MIN_PASSAGES = 1;
const MAX_PASSAGES = 10;

function modelLabel(m: ModelInfo): string {
  const facts = [m.architecture, m.parameters, m.quantization].filter(Boolean).join(' · ');
  return `${m.file_name}${facts ? ` — ${facts}` : ''}${m.is_default ? ' (default)' : ''}`;
}

export function clampPassages(n: number): number {
  if (!Number.isFinite(n)) return 5;
  return Math.min(MAX_PASSAGES, Math.max(MIN_PASSAGES, Math.round(n)));
}

/** The remote-engine part of a settings update: all null when answers are made here. */
export function engineUpdate(remote: boolean, url: string, model: string, context: string) {
  if (!remote) return { engine_url: null, engine_model: null, engine_context: null };
  const n = Number.parseInt(context, 10);
  return {
    engine_url: url.trim() || null,
    engine_model: model.trim() || null,
    engine_context: Number.isFinite(n) && n > 0 ? n : null,
  };
}

interface ServerField {
  id: string;
  label: string;
  /** The keyboard a touch screen shows: all are text boxes (the URL is checked when saved). */
  inputMode: 'url' | 'text' | 'numeric';
  placeholder: string;
  value: string;
  set: (value: string) => void;
}

interface ServerChoiceProps {
  testId: string;
  legend: string;
  remoteTestId: string;
  remoteLabel: string;
  remote: boolean;
  onRemote: (remote: boolean) => void;
  /** The server's fields, shown when a server is chosen. */
  fields: ServerField[];
  /** What choosing a server sends away, shown with the fields. */
  note: ComponentChildren;
  children?: ComponentChildren;
}

/** "On this computer" or "By a server of yours", with the server's fields: for answers and for embeddings. */
function ServerChoice(p: ServerChoiceProps) {
  return (
    <fieldset class="field engine" data-testid={p.testId}>
      <legend>{p.legend}</legend>
      <label class="radio">
        <input type="radio" name={p.testId} checked={!p.remote} onChange={() => p.onRemote(false)} />
        On this computer
      </label>
      <label class="radio">
        <input type="radio" name={p.testId} data-testid={p.remoteTestId} checked={p.remote} onChange={() => p.onRemote(true)} />
        {p.remoteLabel}
      </label>
      {p.remote && (
        <div class="engine__server">
          {p.fields.map((f) => (
            <Fragment key={f.id}>
              <label for={f.id}>{f.label}</label>
              <input
                id={f.id}
                type="text"
                inputMode={f.inputMode}
                placeholder={f.placeholder}
                value={f.value}
                spellcheck={false}
                onInput={(e) => f.set((e.currentTarget as HTMLInputElement).value)}
              />
            </Fragment>
          ))}
          {p.note}
        </div>
      )}
      {p.children}
    </fieldset>
  );
}

export function SettingsPanel({ onSaved }: Props) {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [loadError, setLoadError] = useState<QuarryErrorShape | null>(null);
  const [saveError, setSaveError] = useState<QuarryErrorShape | null>(null);
  const [libraryDir, setLibraryDir] = useState('');
  const [modelPath, setModelPath] = useState('');
  const [passages, setPassages] = useState(5);
  const [remote, setRemote] = useState(false);
  const [engineUrl, setEngineUrl] = useState('');
  const [engineModel, setEngineModel] = useState('');
  const [engineContext, setEngineContext] = useState('');
  const [remoteEmbed, setRemoteEmbed] = useState(false);
  const [embedUrl, setEmbedUrl] = useState('');
  const [embedModel, setEmbedModel] = useState('');
  const [precision, setPrecision] = useState<Precision | ''>('');
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState(false);

  const adopt = (s: Settings) => {
    setSettings(s);
    setLibraryDir(s.library_dir);
    setModelPath(s.model_path ?? '');
    setPassages(clampPassages(s.passages));
    setRemote(s.engine_url !== null);
    setEngineUrl(s.engine_url ?? '');
    setEngineModel(s.engine_model ?? '');
    setEngineContext(s.engine_context === null ? '' : String(s.engine_context));
    setRemoteEmbed(s.embed_url !== null);
    setEmbedUrl(s.embed_url ?? '');
    setEmbedModel(s.embed_model ?? '');
    setPrecision(s.embed_precision ?? '');
  };

  const engine = engineUpdate(remote, engineUrl, engineModel, engineContext);
  const embed = {
    embed_url: remoteEmbed ? embedUrl.trim() || null : null,
    embed_model: remoteEmbed ? embedModel.trim() || null : null,
  };
  /** A setter that also marks the form changed since the last save. */
  const changed =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      set(value);
      setSaved(false);
    };

  useEffect(() => {
    let live = true;
    ipc
      .getSettings()
      .then((s) => live && adopt(s))
      .catch((err) => live && setLoadError(ipc.toQuarryError(err)));
    return () => {
      live = false;
    };
  }, []);

  const dirty =
    settings !== null &&
    (libraryDir !== settings.library_dir ||
      (modelPath || null) !== settings.model_path ||
      passages !== settings.passages ||
      engine.engine_url !== settings.engine_url ||
      engine.engine_model !== settings.engine_model ||
      engine.engine_context !== settings.engine_context ||
      embed.embed_url !== settings.embed_url ||
      embed.embed_model !== settings.embed_model ||
      (precision || null) !== settings.embed_precision);

  const save = async (e: Event) => {
    e.preventDefault();
    if (!settings) return;
    setSaving(true);
    setSaveError(null);
    setSaved(false);
    try {
      const next = await ipc.saveSettings({
        library_dir: libraryDir.trim(),
        model_path: modelPath === '' ? null : modelPath,
        embedder_dir: settings.embedder_dir,
        embed_precision: precision || null,
        passages: clampPassages(passages),
        ...engine,
        ...embed,
      });
      adopt(next);
      setSaved(true);
      onSaved(next);
    } catch (err) {
      setSaveError(ipc.toQuarryError(err));
    } finally {
      setSaving(false);
    }
  };

  const choose = async () => {
    try {
      const dir = await ipc.pickFolder(libraryDir);
      if (dir) {
        setLibraryDir(dir);
        setSaved(false);
      }
    } catch (err) {
      setSaveError(ipc.toQuarryError(err));
    }
  };

  const selected = settings?.models.find((m) => m.path === modelPath) ?? null;
  /** The embeddings come from a server (its engine is named after it): no path, no precision. */
  const embedderIsRemote = settings?.embedder?.engine.startsWith('openai-compatible') ?? false;
  const fallback = settings?.models.find((m) => m.is_default) ?? null;
  const shown = selected ?? (modelPath === '' ? fallback : null);

  return (
    <section class="panel settings-panel" data-testid="settings-panel" aria-labelledby="settings-title">
      <header class="panel__header">
        <h2 id="settings-title">Settings</h2>
      </header>
      {loadError && <ErrorNotice error={loadError} title="Could not load the settings" />}
      {!settings && !loadError && (
        <p class="progress-line" role="status">
          <span class="spinner" aria-hidden="true" />
          Loading…
        </p>
      )}
      {settings && (
        <form class="settings-form" onSubmit={save}>
          <div class="field">
            <label for="library-dir">Library folder</label>
            <div class="field__row">
              <input
                id="library-dir"
                type="text"
                value={libraryDir}
                spellcheck={false}
                onInput={(e) => {
                  setLibraryDir((e.currentTarget as HTMLInputElement).value);
                  setSaved(false);
                }}
              />
              <button type="button" class="button" onClick={() => void choose()}>
                Choose…
              </button>
            </div>
            <p class="field__hint muted">Where Quarry keeps its index and conversations.</p>
          </div>

          <ServerChoice
            testId="answer-engine"
            legend="Answers are written"
            remoteTestId="engine-remote"
            remoteLabel="By a server of yours (OpenAI-compatible: llama.cpp, vLLM, Ollama, LM Studio, another Quarry)"
            remote={remote}
            onRemote={changed(setRemote)}
            fields={[
              { id: 'engine-url', label: 'Server URL', inputMode: 'url', placeholder: 'http://gpu-box:8000/v1', value: engineUrl, set: changed(setEngineUrl) },
              { id: 'engine-model', label: 'Model', inputMode: 'text', placeholder: 'qwen2.5-7b-instruct', value: engineModel, set: changed(setEngineModel) },
              { id: 'engine-context', label: 'Context (tokens)', inputMode: 'numeric', placeholder: '4096', value: engineContext, set: changed(setEngineContext) },
            ]}
            note={
              <p class="field__hint muted" data-testid="engine-privacy">
                Each question, the conversation’s last two turns and the passages found for it are sent to this server.
                The files themselves, the library and its index stay here. API key:{' '}
                {settings.engine_key_set ? 'from QUARRY_ENGINE_API_KEY' : 'none (set QUARRY_ENGINE_API_KEY if the server needs one)'}.
              </p>
            }
          >
            <p class="field__hint" data-testid="answers-by">
              Now: answers by <strong>{settings.answers_by}</strong>; embeddings by{' '}
              <strong>{settings.embeddings_by}</strong>.
            </p>
          </ServerChoice>

          <div class="field" hidden={remote}>
            <label for="model">Language model</label>
            <select
              id="model"
              value={modelPath}
              onChange={(e) => {
                setModelPath((e.currentTarget as HTMLSelectElement).value);
                setSaved(false);
              }}
            >
              <option value="">Automatic{fallback ? ` (${fallback.file_name})` : ''}</option>
              {settings.models.map((m) => (
                <option key={m.path} value={m.path}>
                  {modelLabel(m)}
                </option>
              ))}
              {modelPath !== '' && !selected && <option value={modelPath}>{modelPath} (not found)</option>}
            </select>
            {settings.models.length === 0 && (
              <p class="field__hint muted">No GGUF models found. See the banner in the chat for where to put one.</p>
            )}
            {shown && (
              <dl class="facts model-facts" data-testid="model-facts">
                <dt>File</dt>
                <dd>
                  <code title={shown.path}>{shown.file_name}</code>
                  {shown.is_default && <span class="badge">default</span>}
                </dd>
                <dt>Architecture</dt>
                <dd>{shown.architecture ?? 'unknown'}</dd>
                <dt>Parameters</dt>
                <dd>{shown.parameters ?? 'unknown'}</dd>
                <dt>Quantization</dt>
                <dd>{shown.quantization ?? 'unknown'}</dd>
              </dl>
            )}
          </div>

          <div class="field">
            <label for="passages">Passages per answer</label>
            <div class="field__row">
              <input
                id="passages"
                type="number"
                min={MIN_PASSAGES}
                max={MAX_PASSAGES}
                step={1}
                value={passages}
                onInput={(e) => {
                  const n = (e.currentTarget as HTMLInputElement).valueAsNumber;
                  if (Number.isFinite(n)) setPassages(clampPassages(n));
                  setSaved(false);
                }}
              />
            </div>
            <p class="field__hint muted">
              How many passages ({MIN_PASSAGES}–{MAX_PASSAGES}) the model reads for each question. More can help broad
              questions but answers take longer.
            </p>
          </div>

          <ServerChoice
            testId="embedding-engine"
            legend="Embeddings are made"
            remoteTestId="embed-remote"
            remoteLabel="By a server of yours (OpenAI-compatible /v1/embeddings: TEI, vLLM, Ollama, Infinity, another Quarry)"
            remote={remoteEmbed}
            onRemote={changed(setRemoteEmbed)}
            fields={[
              { id: 'embed-url', label: 'Server URL', inputMode: 'url', placeholder: 'http://gpu-box:8080/v1', value: embedUrl, set: changed(setEmbedUrl) },
              { id: 'embed-model', label: 'Model', inputMode: 'text', placeholder: 'bge-small-en-v1.5', value: embedModel, set: changed(setEmbedModel) },
            ]}
            note={
              <p class="field__hint muted" data-testid="embed-privacy">
                Every passage indexed and every question searched is sent to this server. The library records which model
                made its vectors: after switching, re-embed it from the Library panel before searching. API key:
                QUARRY_EMBED_API_KEY, if the server needs one.
              </p>
            }
          >
            {!remoteEmbed && (
              <div class="field">
                <label for="embed-precision">Precision</label>
                <select
                  id="embed-precision"
                  value={precision}
                  onChange={(e) => changed(setPrecision)((e.currentTarget as HTMLSelectElement).value as Precision | '')}
                >
                  <option value="">As the library was made (int8 for a new library)</option>
                  <option value="int8">int8 — indexes 2–3× faster</option>
                  <option value="f32">f32 — exact, slower</option>
                </select>
                <p class="field__hint muted">
                  Both find the same passages to within a fraction of a percent. A library made at the other precision
                  is re-embedded from the Library panel before it is searched again.
                </p>
              </div>
            )}
            {settings.embedder_error && <p class="field__hint error-text">{settings.embedder_error}</p>}
            {settings.embedder && (
              <dl class="facts">
                <dt>Name</dt>
                <dd>{settings.embedder.name}</dd>
                <dt>Dimension</dt>
                <dd>{settings.embedder.dimension}</dd>
                <dt>Max tokens</dt>
                <dd>{settings.embedder.max_tokens}</dd>
                {!embedderIsRemote && (
                  <>
                    <dt>Running at</dt>
                    <dd data-testid="embed-precision-running">{settings.embedder.precision}</dd>
                  </>
                )}
                <dt>{embedderIsRemote ? 'Server' : 'Path'}</dt>
                <dd>
                  <code>{settings.embedder.path}</code>
                </dd>
                <dt>Weights SHA-256</dt>
                <dd>
                  <code class="hash">{settings.embedder.weights_sha256}</code>
                </dd>
              </dl>
            )}
          </ServerChoice>

          {saveError && <ErrorNotice error={saveError} title="Could not save" />}
          <div class="settings-form__actions">
            <button type="submit" class="button button--primary" disabled={saving || !dirty || libraryDir.trim() === ''}>
              {saving ? 'Saving…' : 'Save'}
            </button>
            {saved && !dirty && (
              <span class="muted" role="status">
                Saved.
              </span>
            )}
          </div>
        </form>
      )}
    </section>
  );
}
