import type { ComponentChildren } from 'preact';
import { useChooseModel } from '../hooks/useChooseModel';
import type { ModelStatus, Settings } from '../lib/types';
import { ErrorNotice } from './ErrorNotice';

interface Props {
  settings: Settings;
  model: ModelStatus | null;
  /** The settings after a model was chosen (the embedder is loaded and the library open). */
  onChosen: (settings: Settings) => void;
  onDone: () => void;
}

/**
 * The first-run screen of a person without models: what Quarry needs, where
 * it looked, and a way to choose each model on disk. No terminal, no download.
 */
export function SetupScreen({ settings, model, onChosen, onDone }: Props) {
  const { busy, error, choose } = useChooseModel(onChosen);
  const embedderReady = settings.embedder !== null;
  const answerReady = model?.ready ?? false;

  return (
    <main class="setup" data-testid="setup" aria-labelledby="setup-title">
      <h1 id="setup-title">Set up Quarry</h1>
      <p class="setup__lead">
        Quarry reads your documents and answers your questions on this computer, with two models stored on your
        disk. Nothing is downloaded and nothing leaves this computer: choose the model files you have.
      </p>
      <ol class="setup__steps">
        <Step
          title="1. Embedding model"
          ready={embedderReady}
          missing="needed"
          testId="setup-embedder"
          button={{
            testId: 'choose-embedder',
            primary: !embedderReady,
            disabled: busy !== null,
            label:
              busy === 'embedder' ? 'Loading the model…' : embedderReady ? 'Choose another folder…' : 'Choose the model folder…',
            onClick: () => void choose('embedder'),
          }}
        >
          {embedderReady ? (
            <p>
              <code>{settings.embedder?.name}</code> finds the passages that match a question.
            </p>
          ) : (
            <>
              <p>
                Finds the passages that match a question; needed to add documents. Quarry's default is{' '}
                <strong>all-MiniLM-L6-v2</strong>: a folder holding <code>config.json</code>,{' '}
                <code>tokenizer.json</code> and <code>model.safetensors</code>, as published at
                huggingface.co/sentence-transformers/all-MiniLM-L6-v2 (or already in your Hugging Face cache).
              </p>
              {settings.embedder_error && (
                <details class="setup__looked">
                  <summary>Where Quarry looked</summary>
                  <pre>{settings.embedder_error}</pre>
                </details>
              )}
            </>
          )}
        </Step>
        <Step
          title="2. Answer model"
          ready={answerReady}
          missing="optional"
          testId="setup-answer"
          button={{
            testId: 'choose-answer-model',
            primary: false,
            disabled: busy !== null,
            label: busy === 'answer' ? 'Checking the model…' : answerReady ? 'Choose another file…' : 'Choose a .gguf file…',
            onClick: () => void choose('answer'),
          }}
        >
          {answerReady ? (
            <p>
              <code>{model?.name}</code> writes the answers.
            </p>
          ) : (
            <p>
              Writes the answers from the passages found; without one, Quarry still searches and shows passages. Quarry's
              default is <strong>{model?.default_file ?? 'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf'}</strong> (from
              huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF); any instruction-tuned model in a{' '}
              <code>.gguf</code> file works.
            </p>
          )}
        </Step>
      </ol>
      {error && <ErrorNotice error={error} title="Could not use this model" />}
      <p class="setup__note muted">
        Chosen models are linked into <code>{settings.models_dir}</code>, where the <code>quarry</code> command finds
        them too. Quarry also looks in <code>$QUARRY_MODELS</code> and the Hugging Face cache.
      </p>
      <button
        type="button"
        class="button button--primary"
        data-testid="setup-done"
        disabled={!embedderReady}
        onClick={onDone}
      >
        Start using Quarry
      </button>
    </main>
  );
}

interface StepProps {
  title: string;
  ready: boolean;
  /** The badge while the model is missing. */
  missing: 'needed' | 'optional';
  testId: string;
  button: { testId: string; label: string; primary: boolean; disabled: boolean; onClick: () => void };
  children: ComponentChildren;
}

/** One model the setup screen asks for: its state, what it is, and the chooser. */
function Step({ title, ready, missing, testId, button, children }: StepProps) {
  return (
    <li class={ready ? 'setup__step setup__step--ready' : 'setup__step'} data-testid={testId}>
      <h2>
        {title} <span class="setup__state">{ready ? 'ready' : missing}</span>
      </h2>
      {children}
      <button
        type="button"
        class={button.primary ? 'button button--primary' : 'button'}
        data-testid={button.testId}
        disabled={button.disabled}
        onClick={button.onClick}
      >
        {button.label}
      </button>
    </li>
  );
}
