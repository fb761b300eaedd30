import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { channelSender, deferred, installBackend } from '../test/backend';
import { makeAnswer, makeContext, makeConversation, makeInspection, makeModelStatus, makePassage, makeSettings } from '../test/fixtures';
import type { AskResult } from '../lib/types';
import { App } from './App';

function questionBox() {
  return screen.getByTestId('question-input') as HTMLTextAreaElement;
}

function type(text: string) {
  fireEvent.input(questionBox(), { target: { value: text } });
}

/** A fake `ask` the test drives: it hands back the channel and settles when told. */
function controllableAsk() {
  const asks: Array<{ args: Record<string, unknown>; channel: ReturnType<typeof channelSender>; result: ReturnType<typeof deferred<AskResult>> }> = [];
  const handler = (args: Record<string, unknown>) => {
    const result = deferred<AskResult>();
    asks.push({ args, channel: channelSender(args.on_event), result });
    return result.promise;
  };
  return { asks, handler };
}

async function ask(question: string) {
  type(question);
  fireEvent.keyDown(questionBox(), { key: 'Enter' });
}

describe('chat', () => {
  it('focuses the question box on start and shows first-time guidance', async () => {
    installBackend();
    render(<App />);
    expect(document.activeElement).toBe(questionBox());
    expect(screen.getByText(/add documents/i)).toBeTruthy();
    expect(screen.getByText(/ask a question below/i)).toBeTruthy();
  });

  it('streams tokens over the channel, renders chips, then shows the checked answer', async () => {
    const { asks, handler } = controllableAsk();
    const backend = installBackend({ ask: handler });
    render(<App />);

    await ask('How often is the seal replaced?');
    await waitFor(() => expect(asks).toHaveLength(1));
    expect(asks[0].args).toMatchObject({ question: 'How often is the seal replaced?', conversation_id: null });
    expect(questionBox().value).toBe('');
    expect(document.activeElement).toBe(questionBox());

    const answer = await screen.findByTestId('answer');
    expect(answer.dataset.state).toBe('streaming');
    expect(within(answer).getByText('Searching your documents…')).toBeTruthy();
    expect(screen.getByTestId('stop-button')).toBeTruthy();
    expect((screen.getByTestId('send-button') as HTMLButtonElement).disabled).toBe(true);

    const { channel } = asks[0];
    const sentence = 'the seal is replaced every 500 hours of operation.';
    channel.send({
      kind: 'retrieved',
      conversation_id: 7,
      passages: [makePassage(1), makePassage(2)],
      not_found: false,
      preview: { number: 1, sentence },
    });
    // The best sentence shows at once, highlighted, before any token.
    const preview = await within(answer).findByTestId('preview');
    expect(within(preview).getByText('From your documents')).toBeTruthy();
    expect(preview.querySelector('mark')?.textContent).toBe(sentence);
    expect(preview.textContent).toContain('Passage 1:');
    expect(preview.textContent).not.toContain('…'); // nothing around the sentence was cut
    expect(within(preview).getByText('[1] Manual 1, page 2')).toBeTruthy();
    channel.send({ kind: 'loading_model', path: '/models/qwen.gguf' });
    await within(answer).findByText(/Loading the model/);

    channel.send({ kind: 'token', text: 'The seal is replaced every 500 hours [' });
    channel.send({ kind: 'token', text: '1]. Check' });
    await waitFor(() => expect(answer.textContent).toContain('every 500 hours'));
    const chips = within(answer).getAllByTestId('citation-chip');
    expect(chips.map((c) => c.dataset.number)).toEqual(['1']);
    expect(answer.dataset.state).toBe('streaming');

    // The model cited [1] for "Check it monthly"; the check moved it to [2].
    expect(within(answer).getByTestId('preview')).toBeTruthy();
    expect(within(answer).queryByTestId('citation-corrections')).toBeNull();
    const final = makeAnswer({ answer: 'The seal is replaced every 500 hours [1]. Check it monthly [2].' });
    final.citation_check = { ...final.citation_check, kept: 1, moved: 1 };
    channel.send({ kind: 'done', turn_id: 11, answer: final });
    asks[0].result.resolve({ conversation_id: 7, turn_id: 11, answer: final });

    await waitFor(() => expect(answer.dataset.state).toBe('done'));
    expect(within(answer).queryByTestId('preview')).toBeNull();
    expect(within(answer).getByTestId('citation-corrections').textContent).toBe(
      'Citations checked: 1 citation moved to the passage that supports the sentence.',
    );
    expect(within(answer).getAllByTestId('citation-chip').map((c) => c.dataset.number)).toEqual(['1', '2']);
    expect(answer.textContent).toContain('Check it monthly');
    expect(within(answer).getByText('Sources')).toBeTruthy();
    expect(within(answer).getAllByTestId('source-row')).toHaveLength(2);
    expect(within(answer).getByText(/first token 420 ms · 12\.3 tok\/s/)).toBeTruthy();
    expect(screen.queryByTestId('stop-button')).toBeNull();
    // The new conversation was listed once the back end named it.
    expect(backend.argsOf('list_conversations').length).toBeGreaterThan(1);
  });

  it('sends on Enter but not on Shift+Enter, and sends the conversation id on follow-ups', async () => {
    const { asks, handler } = controllableAsk();
    installBackend({ ask: handler });
    render(<App />);

    type('first line');
    fireEvent.keyDown(questionBox(), { key: 'Enter', shiftKey: true });
    await new Promise((r) => setTimeout(r, 20));
    expect(asks).toHaveLength(0);

    fireEvent.keyDown(questionBox(), { key: 'Enter' });
    await waitFor(() => expect(asks).toHaveLength(1));
    const done = makeAnswer();
    asks[0].channel.send({ kind: 'retrieved', conversation_id: 42, passages: done.retrieved, not_found: false, preview: null });
    asks[0].result.resolve({ conversation_id: 42, turn_id: 1, answer: done });
    await waitFor(() => expect(screen.getByTestId('answer').dataset.state).toBe('done'));

    await ask('and a follow-up?');
    await waitFor(() => expect(asks).toHaveLength(2));
    expect(asks[1].args.conversation_id).toBe(42);
  });

  it('the Send button asks too, and ignores blank questions', async () => {
    const { asks, handler } = controllableAsk();
    installBackend({ ask: handler });
    render(<App />);
    type('   ');
    fireEvent.keyDown(questionBox(), { key: 'Enter' });
    await new Promise((r) => setTimeout(r, 20));
    expect(asks).toHaveLength(0);
    type('What is ZX-4417-B?');
    fireEvent.click(screen.getByTestId('send-button'));
    await waitFor(() => expect(asks).toHaveLength(1));
    expect(asks[0].args.question).toBe('What is ZX-4417-B?');
  });

  it('clicking a chip shows the passage in context, highlighted, and can open the file', async () => {
    const final = makeAnswer();
    const backend = installBackend({
      ask: () => ({ conversation_id: 1, turn_id: 1, answer: final }),
      passage_context: (args) => makeContext({ document_id: args.document_id as number }),
      open_document: () => null,
    });
    render(<App />);
    await ask('How often is the seal replaced?');
    const answer = await screen.findByTestId('answer');
    await waitFor(() => expect(answer.dataset.state).toBe('done'));

    const chip2 = within(answer).getAllByTestId('citation-chip').find((c) => c.dataset.number === '2')!;
    fireEvent.click(chip2);
    const p2 = final.retrieved[1];
    await waitFor(() =>
      expect(backend.argsOf('passage_context')).toEqual([{ document_id: p2.document_id, start: p2.span.start, end: p2.span.end }]),
    );
    const view = screen.getByTestId('source-view');
    const mark = await within(view).findByTestId('source-highlight');
    expect(mark.tagName).toBe('MARK');
    expect(mark.textContent).toBe('The seal is replaced every 500 hours of operation.');
    expect(view.textContent).toContain('Maintenance schedule.');
    expect(view.textContent).toContain('Page 2');

    fireEvent.click(within(view).getByTestId('open-file-button'));
    await waitFor(() => expect(backend.argsOf('open_document')).toEqual([{ document_id: p2.document_id }]));
  });

  it('shows a hostile document as the characters it holds: no script runs, no remote image loads, no link', async () => {
    // What a document can carry into a passage: HTML and Markdown that
    // would run or load if the window rendered it as markup.
    const hostile = {
      before: '<script>window.__pwned = 1</script> <img src="http://tracker.example/p.png" onerror="window.__pwned = 2"> ',
      passage: 'Click [here](javascript:window.__pwned=3) or <a href="javascript:window.__pwned=4">here</a>.',
      after: ' <iframe src="https://evil.example"></iframe><style>body{display:none}</style>',
    };
    const passage = makePassage(1, { text: hostile.passage, title: '<b>Title</b><script>window.__pwned=5</script>' });
    installBackend({
      ask: () => ({
        conversation_id: 1,
        turn_id: 1,
        answer: makeAnswer({
          answer: 'It says <script>window.__pwned=6</script> click [1].',
          sentences: ['It says <script>window.__pwned=6</script> click [1].'],
          retrieved: [passage],
        }),
      }),
      passage_context: () => makeContext({ ...hostile, title: passage.title }),
    });
    render(<App />);
    await ask('What does it say?');
    const answer = await screen.findByTestId('answer');
    await waitFor(() => expect(answer.dataset.state).toBe('done'));
    fireEvent.click(within(answer).getAllByTestId('citation-chip')[0]);
    const view = screen.getByTestId('source-view');
    const mark = await within(view).findByTestId('source-highlight');
    expect(mark.textContent).toBe(hostile.passage);
    expect(view.textContent).toContain(hostile.before.trim());
    for (const root of [view, answer]) {
      expect(root.querySelectorAll('script, img, iframe, style, object, embed').length).toBe(0);
      for (const link of root.querySelectorAll('a')) expect(link.getAttribute('href') ?? '').not.toMatch(/^javascript:/i);
    }
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it('names a slide as a slide and marks text recognised from a scan', async () => {
    const slide = makePassage(1, { path: '/docs/review.pptx', title: 'Quarterly Review', page: 3, unit: 'slide' });
    const scan = makePassage(2, { path: '/docs/delivery.pdf', title: null, page: 1, ocr: true });
    installBackend({
      ask: () => ({ conversation_id: 1, turn_id: 1, answer: makeAnswer({ retrieved: [slide, scan] }) }),
      passage_context: () => makeContext({ path: '/docs/delivery.pdf', title: null, page: 1, ocr: true }),
    });
    render(<App />);
    await ask('What did the review say?');
    const answer = await screen.findByTestId('answer');
    await waitFor(() => expect(answer.dataset.state).toBe('done'));
    const rows = within(answer).getAllByTestId('source-row');
    expect(rows[0].textContent).toContain('slide 3');
    expect(within(rows[0]).queryByTestId('ocr-badge')).toBeNull();
    expect(rows[1].textContent).toContain('page 1');
    expect(within(rows[1]).getByTestId('ocr-badge').title).toMatch(/recognised from the scan/);
    const chip = within(answer).getAllByTestId('citation-chip').find((c) => c.dataset.number === '1')!;
    expect(chip.getAttribute('aria-label') ?? chip.title).toContain('slide 3');

    fireEvent.click(within(answer).getAllByTestId('citation-chip').find((c) => c.dataset.number === '2')!);
    const view = screen.getByTestId('source-view');
    expect((await within(view).findByTestId('ocr-note')).textContent).toMatch(/may contain recognition errors/);
    expect(view.textContent).toContain('Page 1');
  });

  it('shows "not found" as a notice, not an error', async () => {
    installBackend({
      ask: () => ({
        conversation_id: 1,
        turn_id: 1,
        answer: makeAnswer({ answer: '', citations: [], retrieved: [], not_found: true, abstention: 'retrieval' }),
      }),
    });
    render(<App />);
    await ask('What is the capital of Mars?');
    const answer = await screen.findByTestId('answer');
    await waitFor(() => expect(answer.dataset.state).toBe('not-found'));
    expect(within(answer).getByText('Not found in your documents.')).toBeTruthy();
    expect(within(answer).queryByRole('alert')).toBeNull();
  });

  it('an answer no passage supports is shown as not found, with what the model wrote marked', async () => {
    const invented = 'The QP-7731 pump needs 240 volts.';
    installBackend({
      ask: () => ({
        conversation_id: 1,
        turn_id: 1,
        answer: makeAnswer({
          answer: invented,
          citations: [],
          not_found: true,
          abstention: 'unsupported',
          citation_check: { written: 0, kept: 0, moved: 0, dropped_unsupported: 0, dropped_invalid: 0, inferred: false, unsupported_sentences: [invented] },
        }),
      }),
    });
    render(<App />);
    await ask('What voltage does the pump need?');
    const answer = await screen.findByTestId('answer');
    await waitFor(() => expect(answer.dataset.state).toBe('not-found'));
    expect(answer.textContent).toContain('No passage Quarry found supports what the model wrote below');
    expect(answer.querySelector('.unsupported')?.textContent).toBe(invented);
  });

  it('Stop calls stop_answer and the answer is marked stopped', async () => {
    const { asks, handler } = controllableAsk();
    const backend = installBackend({ ask: handler, stop_answer: () => null });
    render(<App />);
    await ask('Tell me everything');
    await waitFor(() => expect(asks).toHaveLength(1));
    asks[0].channel.send({ kind: 'token', text: 'Partial' });
    fireEvent.click(await screen.findByTestId('stop-button'));
    await waitFor(() => expect(backend.argsOf('stop_answer')).toHaveLength(1));
    asks[0].result.resolve({ conversation_id: 1, turn_id: 2, answer: makeAnswer({ answer: 'Partial', stopped: true, citations: [] }) });
    const answer = screen.getByTestId('answer');
    await waitFor(() => expect(answer.dataset.state).toBe('stopped'));
    expect(within(answer).getByText('stopped')).toBeTruthy();
    expect(answer.textContent).toContain('Partial');
  });

  it('Escape in the question box stops the answer', async () => {
    const { asks, handler } = controllableAsk();
    const backend = installBackend({ ask: handler, stop_answer: () => null });
    render(<App />);
    await ask('Tell me everything');
    await waitFor(() => expect(asks).toHaveLength(1));
    fireEvent.keyDown(questionBox(), { key: 'Escape' });
    await waitFor(() => expect(backend.argsOf('stop_answer')).toHaveLength(1));
  });

  it('explains a follow-up\'s passage for what retrieval searched, not the bare follow-up', async () => {
    const final = makeAnswer({
      question: 'And how long does it last?',
      search_query: 'How often is the seal replaced? And how long does it last?',
    });
    const backend = installBackend({
      ask: () => ({ conversation_id: 1, turn_id: 1, answer: final }),
      inspect_passage: () => makeInspection(),
    });
    render(<App />);
    await ask('And how long does it last?');
    const answer = await screen.findByTestId('answer');
    await waitFor(() => expect(answer.dataset.state).toBe('done'));
    const row = within(answer).getAllByTestId('source-row')[0];
    fireEvent.click(within(row).getByTestId('inspect-button'));
    await waitFor(() =>
      expect(backend.argsOf('inspect_passage')).toEqual([
        { question: 'How often is the seal replaced? And how long does it last?', chunk_id: final.retrieved[0].chunk_id },
      ]),
    );
  });

  it('lists cited sources, then the other retrieved passages, each opening its own passage', async () => {
    const extra = makePassage(7, { document_id: 70, title: 'Old notes', span: { start: 5, end: 50 } });
    const final = makeAnswer({
      answer: 'Every 500 hours [1].',
      citations: [makeAnswer().citations[0]],
      also_retrieved: [extra],
    });
    const backend = installBackend({
      ask: () => ({ conversation_id: 1, turn_id: 1, answer: final }),
      passage_context: () => makeContext(),
      inspect_passage: () => makeInspection(),
    });
    render(<App />);
    await ask('How often is the seal replaced?');
    const answer = await screen.findByTestId('answer');
    await waitFor(() => expect(answer.dataset.state).toBe('done'));

    const rows = within(answer).getAllByTestId('source-row');
    // Cited [1]; then passage 2 (in the prompt, not cited) and the also-retrieved one.
    expect(rows.map((r) => r.textContent)).toEqual([
      expect.stringContaining('Manual 1'),
      expect.stringContaining('Manual 2'),
      expect.stringContaining('Old notes'),
    ]);
    expect(within(answer).getByText('Also retrieved (2)')).toBeTruthy();

    fireEvent.click(within(rows[2]).getByLabelText(/in context/));
    await waitFor(() => expect(backend.argsOf('passage_context')).toEqual([{ document_id: 70, start: 5, end: 50 }]));
    const view = screen.getByTestId('source-view');
    await within(view).findByTestId('source-highlight');

    // Under the hood straight from the source view.
    fireEvent.click(within(view).getByTestId('inspect-button'));
    await waitFor(() => expect(backend.argsOf('inspect_passage')).toEqual([{ question: 'How often is the seal replaced?', chunk_id: extra.chunk_id }]));
    expect(await screen.findByTestId('inspect-panel')).toBeTruthy();
  });

  it('flags sentences no passage supports', async () => {
    installBackend({
      ask: () => ({
        conversation_id: 1,
        turn_id: 1,
        answer: makeAnswer({
          answer: 'The seal lasts 500 hours [1]. It is made of gold.',
          citation_check: { ...makeAnswer().citation_check, unsupported_sentences: ['It is made of gold.'] },
        }),
      }),
    });
    render(<App />);
    await ask('What is the seal made of?');
    const answer = await screen.findByTestId('answer');
    await waitFor(() => expect(answer.dataset.state).toBe('done'));
    const flagged = answer.querySelector('.unsupported');
    expect(flagged?.textContent).toBe('It is made of gold.');
    expect(flagged?.getAttribute('title')).toBe('Not supported by the passages');
    expect(within(answer).getByText(/1 sentence is not supported by the passages/)).toBeTruthy();
  });

  it('shows an error with its details when ask fails', async () => {
    installBackend({ ask: () => Promise.reject({ code: 'busy', message: 'Another answer is being written.', details: 'turn 4 running' }) });
    render(<App />);
    await ask('Anything?');
    const answer = await screen.findByTestId('answer');
    await waitFor(() => expect(answer.dataset.state).toBe('error'));
    expect(within(answer).getByRole('alert').textContent).toContain('Another answer is being written.');
    expect(within(answer).getByText('turn 4 running')).toBeTruthy();
    expect(screen.queryByTestId('model-banner')).toBeNull();
  });
});

describe('model banner', () => {
  it('explains a missing model on start', async () => {
    installBackend({
      model_status: () =>
        makeModelStatus({
          ready: false,
          path: null,
          name: null,
          message: 'No language model found.',
          looked_in: ['/home/ana/.local/share/quarry/models', '/opt/quarry/models'],
          how_to_get: 'Run models/fetch, or download the GGUF into one of these folders.',
        }),
    });
    render(<App />);
    const banner = await screen.findByTestId('model-banner');
    expect(banner.textContent).toContain('No language model found.');
    expect(banner.textContent).toContain('qwen2.5-coder-1.5b-instruct-q4_k_m.gguf');
    expect(banner.textContent).toContain('/opt/quarry/models');
    expect(banner.textContent).toContain('Run models/fetch');
  });

  it('lets the person choose a .gguf file on disk, then goes away', async () => {
    let ready = false;
    const backend = installBackend({
      model_status: () => makeModelStatus(ready ? {} : { ready: false, path: null, name: null, message: 'No language model found.' }),
      'plugin:dialog|open': () => '/mnt/models/qwen.gguf',
      choose_model: () => {
        ready = true;
        return makeSettings({ model_path: '/home/ana/.local/share/quarry/models/qwen.gguf' });
      },
    });
    render(<App />);
    fireEvent.click(await screen.findByTestId('banner-choose-model'));
    await waitFor(() => expect(screen.queryByTestId('model-banner')).toBeNull());
    expect(backend.argsOf('choose_model')).toEqual([{ kind: 'answer', path: '/mnt/models/qwen.gguf' }]);
  });

  it('appears when ask is refused with no_model', async () => {
    let ready = true;
    installBackend({
      model_status: () => makeModelStatus({ ready, message: ready ? null : 'The model file is missing.' }),
      ask: () => {
        ready = false;
        return Promise.reject({ code: 'no_model', message: 'No language model is available.' });
      },
    });
    render(<App />);
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByTestId('model-banner')).toBeNull();
    await ask('How often is the seal replaced?');
    const banner = await screen.findByTestId('model-banner');
    await waitFor(() => expect(banner.textContent).toContain('The model file is missing.'));
    expect(screen.getByTestId('answer').dataset.state).toBe('error');
  });
});

describe('conversations', () => {
  it('lists conversations, opens one, and deletes one', async () => {
    let conversations = [makeConversation(2, { title: 'Seal maintenance' }), makeConversation(1, { title: 'Pump specs' })];
    const backend = installBackend({
      list_conversations: () => conversations,
      conversation_turns: () => [{ id: 5, question: 'How often is the seal replaced?', answer: makeAnswer() }],
      delete_conversation: (args) => {
        conversations = conversations.filter((c) => c.id !== args.conversation_id);
        return null;
      },
    });
    render(<App />);
    const items = await screen.findAllByTestId('conversation-item');
    expect(items.map((i) => i.textContent)).toEqual([expect.stringContaining('Seal maintenance'), expect.stringContaining('Pump specs')]);

    fireEvent.click(within(items[0]).getByText('Seal maintenance'));
    await waitFor(() => expect(backend.argsOf('conversation_turns')).toEqual([{ conversation_id: 2 }]));
    const answer = await screen.findByTestId('answer');
    expect(answer.dataset.state).toBe('done');
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Seal maintenance');

    fireEvent.click(within(items[1]).getByLabelText(/Delete conversation/));
    fireEvent.click(within(screen.getAllByTestId('conversation-item')[1]).getByText('Delete'));
    await waitFor(() => expect(backend.argsOf('delete_conversation')).toEqual([{ conversation_id: 1 }]));
    await waitFor(() => expect(screen.getAllByTestId('conversation-item')).toHaveLength(1));

    fireEvent.click(screen.getByTestId('new-conversation'));
    expect(screen.queryByTestId('answer')).toBeNull();
    await waitFor(() => expect(document.activeElement).toBe(questionBox()));
  });
});

describe('under the hood', () => {
  it('shows word pieces, the stored vector and the ranks for a source', async () => {
    const final = makeAnswer();
    const backend = installBackend({
      ask: () => ({ conversation_id: 1, turn_id: 1, answer: final }),
      inspect_passage: () => makeInspection(),
    });
    render(<App />);
    await ask('How often is the seal replaced?');
    const answer = await screen.findByTestId('answer');
    await waitFor(() => expect(answer.dataset.state).toBe('done'));

    fireEvent.click(within(answer).getAllByTestId('inspect-button')[0]);
    await waitFor(() =>
      expect(backend.argsOf('inspect_passage')).toEqual([{ question: 'How often is the seal replaced?', chunk_id: final.retrieved[0].chunk_id }]),
    );
    const panel = screen.getByTestId('inspect-panel');
    const pieces = await within(panel).findAllByTestId('word-piece');
    expect(pieces.map((p) => p.textContent)).toEqual(['[CLS]101', 'the1996', 'seal7744']);

    fireEvent.mouseEnter(pieces[2]);
    const detail = within(panel).getByTestId('word-piece-detail');
    await waitFor(() => expect(detail.textContent).toContain('row 7744 of embeddings.word_embeddings.weight [30522 × 384] in model.safetensors'));
    expect(panel.textContent).toMatch(/not stored in your library/);
    expect(panel.textContent).toContain('stored in the library');
    expect(within(panel).getByTestId('cosine').textContent).toBe('0.6421');
    expect(within(panel).getByTestId('retrieval-dense').textContent).toContain('#1');
    expect(within(panel).getByTestId('retrieval-lexical').textContent).toContain('#3');
    expect(within(panel).getByTestId('retrieval-fused').textContent).toContain('0.0325');
  });
});
