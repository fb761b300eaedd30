import type { QuarryErrorShape } from '../lib/types';

interface Props {
  error: QuarryErrorShape;
  /** Short context, e.g. "Could not load the library". */
  title?: string;
  onDismiss?: () => void;
}

/** A command's error: its message, with the details in a disclosure. */
export function ErrorNotice({ error, title, onDismiss }: Props) {
  return (
    <div class="error-notice" role="alert" data-code={error.code}>
      <div class="error-notice__body">
        {title && <strong class="error-notice__title">{title}: </strong>}
        <span class="error-notice__message">{error.message}</span>
        {error.details && (
          <details class="error-notice__details">
            <summary>Details</summary>
            <pre>{error.details}</pre>
          </details>
        )}
      </div>
      {onDismiss && (
        <button type="button" class="icon-button" aria-label="Dismiss" onClick={onDismiss}>
          ×
        </button>
      )}
    </div>
  );
}
