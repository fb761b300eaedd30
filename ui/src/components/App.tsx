import { useCallback, useEffect, useState } from 'preact/hooks';
import { useChat } from '../hooks/useChat';
import { useLibrary } from '../hooks/useLibrary';
import * as ipc from '../lib/ipc';
import type { ModelStatus, Passage, QuarryErrorShape, Settings } from '../lib/types';
import { ChatView } from './ChatView';
import { InspectPanel, type InspectTarget } from './InspectPanel';
import { LibraryPanel } from './LibraryPanel';
import { SettingsPanel } from './SettingsPanel';
import { SetupScreen } from './SetupScreen';
import { Sidebar, type PanelName } from './Sidebar';
import { SourceView, type SourceTarget } from './SourceView';

const TABS: Array<{ id: PanelName; label: string }> = [
  { id: 'library', label: 'Library' },
  { id: 'source', label: 'Source' },
  { id: 'inspect', label: 'Under the hood' },
  { id: 'settings', label: 'Settings' },
];

export function App() {
  const library = useLibrary();
  const [model, setModel] = useState<ModelStatus | null>(null);
  const [modelError, setModelError] = useState<QuarryErrorShape | null>(null);
  const [panel, setPanel] = useState<PanelName | null>('library');
  const [source, setSource] = useState<SourceTarget | null>(null);
  const [inspect, setInspect] = useState<InspectTarget | null>(null);
  const [dragging, setDragging] = useState(false);
  const [focusToken, setFocusToken] = useState(0);
  const [settingsEpoch, setSettingsEpoch] = useState(0);
  const refocus = () => setFocusToken((n) => n + 1);

  const refreshModel = useCallback(async () => {
    try {
      const status = await ipc.modelStatus();
      setModel(status);
      if (status.ready) setModelError(null);
    } catch (err) {
      console.warn('Quarry: model_status failed', err);
    }
  }, []);

  const onNoModel = useCallback(
    (err: QuarryErrorShape) => {
      setModelError(err);
      void refreshModel();
    },
    [refreshModel],
  );
  const chat = useChat(onNoModel);

  // First run without an embedder: the setup screen until the person is done.
  const [setup, setSetup] = useState<Settings | null>(null);
  useEffect(() => {
    void refreshModel();
    ipc
      .getSettings()
      .then((settings) => {
        if (settings.embedder === null && settings.embed_url === null) setSetup(settings);
      })
      .catch((err) => console.warn('Quarry: get_settings failed', err));
  }, [refreshModel]);


  const { addPaths } = library;
  useEffect(
    () =>
      ipc.onDragDrop((event) => {
        switch (event.type) {
          case 'enter':
          case 'over':
            setDragging(true);
            break;
          case 'drop':
            setDragging(false);
            if (event.paths.length) {
              setPanel('library');
              void addPaths(event.paths);
            }
            break;
          default:
            setDragging(false);
        }
      }),
    [addPaths],
  );

  const openPassage = useCallback((passage: Passage, question: string) => {
    setSource({ passage, question });
    setPanel('source');
  }, []);
  const openInspect = useCallback((passage: Passage, question: string) => {
    setInspect({ passage, question });
    setPanel('inspect');
  }, []);

  const title = chat.conversations.find((c) => c.id === chat.conversationId)?.title ?? null;

  if (setup) {
    return (
      <div class="app app--setup">
        <SetupScreen
          settings={setup}
          model={model}
          onChosen={(settings) => {
            setSetup(settings);
            void refreshModel();
            void library.reload();
          }}
          onDone={() => {
            setSetup(null);
            void library.reload();
            void chat.refresh();
          }}
        />
      </div>
    );
  }

  return (
    <div class={panel ? 'app app--with-panel' : 'app'}>
      <Sidebar
        conversations={chat.conversations}
        currentId={chat.conversationId}
        error={chat.conversationsError}
        locked={chat.streaming}
        panel={panel}
        documentCount={library.overview?.documents.length ?? null}
        indexing={library.running}
        onNew={() => {
          chat.startNew();
          refocus();
        }}
        onSelect={(id) => {
          void chat.select(id);
          refocus();
        }}
        onDelete={(id) => void chat.remove(id)}
        onPanel={setPanel}
      />
      <ChatView
        chat={chat}
        model={model}
        modelError={modelError}
        documentCount={library.overview?.documents.length ?? null}
        title={title}
        focusToken={focusToken}
        onOpenPassage={openPassage}
        onInspect={openInspect}
        onOpenLibrary={() => setPanel('library')}
        onOpenSettings={() => setPanel('settings')}
        onModelChosen={() => {
          void refreshModel();
          // An open Settings panel shows (and would save back) the model before.
          setSettingsEpoch((n) => n + 1);
        }}
      />
      {panel && (
        <aside class="side-panel" aria-label="Details">
          <div class="tabs" role="tablist" aria-label="Panels">
            {TABS.map((t) => (
              <button
                key={t.id}
                type="button"
                role="tab"
                id={`tab-${t.id}`}
                aria-selected={panel === t.id}
                aria-controls="side-panel-body"
                class={panel === t.id ? 'tab tab--active' : 'tab'}
                onClick={() => setPanel(t.id)}
              >
                {t.label}
              </button>
            ))}
            <button
              type="button"
              class="icon-button tabs__close"
              aria-label="Close panel"
              title="Close panel"
              onClick={() => setPanel(null)}
            >
              ×
            </button>
          </div>
          <div class="side-panel__body" id="side-panel-body" role="tabpanel" aria-labelledby={`tab-${panel}`}>
            {panel === 'library' && <LibraryPanel library={library} dragging={dragging} />}
            {panel === 'source' && <SourceView target={source} onInspect={openInspect} />}
            {panel === 'inspect' && <InspectPanel target={inspect} />}
            {panel === 'settings' && (
              <SettingsPanel
                key={settingsEpoch}
                onSaved={(saved) => {
                  if (library.overview && saved.library_dir !== library.overview.dir) chat.startNew();
                  void library.reload();
                  void chat.refresh();
                  void refreshModel();
                }}
              />
            )}
          </div>
        </aside>
      )}
      {dragging && (
        <div class="drop-overlay" data-testid="drop-overlay" aria-hidden="true">
          <div class="drop-overlay__box">
            <p class="drop-overlay__title">Drop to add to your library</p>
            <p class="muted">PDF, DOCX, HTML, Markdown, text — files or whole folders</p>
          </div>
        </div>
      )}
    </div>
  );
}
