import { useChooseModel } from '../hooks/useChooseModel';
import type { ModelStatus, QuarryErrorShape, Settings } from '../lib/types';
import { ErrorNotice } from './ErrorNotice';

interface Props {
  status: ModelStatus | null;
  /** Set when an ask was refused with `no_model`. */
  error: QuarryErrorShape | null;
  onOpenSettings: () => void;
  /** A model file was chosen on disk and is now the one used. */
  onChosen: (settings: Settings) => void;
}

/** Shown when no language model is available: what was looked for, where, and how to get it. */
export function ModelBanner({ status, error, onOpenSettings, onChosen }: Props) {
  const { busy, error: chooseError, choose } = useChooseModel(onChosen);
  const message =
    status?.message ?? error?.message ?? 'No language model was found, so Quarry cannot write answers yet.';
  return (
    <section class="model-banner" data-testid="model-banner" role="status" aria-labelledby="model-banner-title">
      <h2 id="model-banner-title" class="model-banner__title">
        No language model
      </h2>
      <p class="model-banner__message">{message}</p>
      {status && (
        <dl class="model-banner__facts">
          <dt>Looked for</dt>
          <dd>
            <code>{status.default_file}</code>
          </dd>
          {status.looked_in.length > 0 && (
            <>
              <dt>In</dt>
              <dd>
                <ul class="plain-list">
                  {status.looked_in.map((dir) => (
                    <li key={dir}>
                      <code>{dir}</code>
                    </li>
                  ))}
                </ul>
              </dd>
            </>
          )}
          {status.how_to_get && (
            <>
              <dt>How to get it</dt>
              <dd class="model-banner__how">{status.how_to_get}</dd>
            </>
          )}
        </dl>
      )}
      {error?.details && (
        <details class="error-notice__details">
          <summary>Details</summary>
          <pre>{error.details}</pre>
        </details>
      )}
      <p>
        <button type="button" class="button button--primary" data-testid="banner-choose-model" disabled={busy !== null} onClick={() => void choose('answer')}>
          {busy ? 'Checking the model…' : 'Choose a .gguf file on this computer…'}
        </button>
      </p>
      {chooseError && <ErrorNotice error={chooseError} title="Could not use this model" />}
      <p class="model-banner__note">
        Searching still works: questions your documents do not cover are answered “not found” without a model. You can
        also pick a model in{' '}
        <button type="button" class="link-button" onClick={onOpenSettings}>
          Settings
        </button>
        .
      </p>
    </section>
  );
}
