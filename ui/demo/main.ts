// A stand-in back end for looking at the UI in a browser without the Rust
// side: `npm run dev`, then open http://localhost:1420/demo/ (add ?nomodel to
// see the missing-model banner, ?empty for a first run). It answers through
// the same IPC boundary the tests mock; it is never part of the build.

import { emit } from '@tauri-apps/api/event';
import { mockIPC, mockWindows } from '@tauri-apps/api/mocks';
import type { AnswerEvent, IngestEvent } from '../src/lib/types';
import {
  makeAnswer,
  makeContext,
  makeConversation,
  makeDocument,
  makeInspection,
  makeModelStatus,
  makeOverview,
  makePassage,
  makeSettings,
} from '../src/test/fixtures';

const params = new URLSearchParams(location.search);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let documents = params.has('empty')
  ? []
  : [
      makeDocument(1, { path: '/home/ana/manuals/pump-x200.pdf', title: 'Pump X200 service manual', chunks: 48, size: 2_310_000 }),
      makeDocument(2, { path: '/home/ana/manuals/seals.docx', title: 'Seal kits and intervals', format: 'docx', chunks: 12 }),
      makeDocument(3, { path: '/home/ana/notes/maintenance.md', title: null, format: 'markdown', chunks: 5, size: 4_100 }),
      makeDocument(4, {
        path: '/home/ana/manuals/scan-0042.pdf',
        title: null,
        status: 'failed',
        error: 'The PDF has no text layer (a scan?)',
        chunks: 0,
      }),
    ];
let conversations = params.has('empty')
  ? []
  : [makeConversation(2, { title: 'Seal replacement interval' }), makeConversation(1, { title: 'Pump X200 torque values' })];

const passages = [
  makePassage(1, { document_id: 1, path: '/home/ana/manuals/pump-x200.pdf', title: 'Pump X200 service manual', page: 14, text: 'Replace the mechanical seal every 500 operating hours, or sooner if the leakage exceeds 3 drops per minute.' }),
  makePassage(2, { document_id: 2, path: '/home/ana/manuals/seals.docx', title: 'Seal kits and intervals', page: null, text: 'Seal kit SK-7 fits the X200 and X250 pumps. Inspect the seal faces monthly.' }),
  makePassage(3, { document_id: 3, path: '/home/ana/notes/maintenance.md', title: null, page: null, text: 'Last seal change: March. Next due around 500 h.' }),
];
const answerText =
  'The mechanical seal is replaced every 500 operating hours [1], or sooner if it leaks more than 3 drops per minute [1]. ' +
  'Use seal kit SK-7 and inspect the seal faces monthly [2]. The seal is made of unobtainium.';
const answer = makeAnswer({
  question: 'How often is the seal replaced?',
  answer: answerText,
  raw_answer: answerText,
  retrieved: passages,
  citations: passages.slice(0, 2).map((p) => ({ number: p.number, path: p.path, title: p.title, page: p.page, unit: p.unit, ocr: p.ocr, span: p.span, text: p.text, sentences: [0], inferred: false, support: 0.8 })),
  citation_check: { ...makeAnswer().citation_check, unsupported_sentences: ['The seal is made of unobtainium.'] },
});

async function ingest(paths: string[]) {
  const send = (e: IngestEvent) => emit('ingest:progress', e);
  await send({ kind: 'queued', total: paths.length + 1, paths });
  let done = 0;
  for (const path of paths) {
    await send({ kind: 'started', path });
    await sleep(900);
    done++;
    const failed = path.endsWith('.exe');
    await send({ kind: 'file', done, total: paths.length + 1, path, outcome: failed ? 'failed' : 'added', chunks: failed ? 0 : 7, error: failed ? 'Unsupported format' : null });
    if (!failed) documents = [...documents, makeDocument(documents.length + 10, { path, title: null })];
  }
  await send({ kind: 'file', done: done + 1, total: paths.length + 1, path: '/home/ana/notes/old.txt', outcome: 'unchanged', chunks: 2, error: null });
  await send({ kind: 'finished', added: paths.length, updated: 0, unchanged: 1, failed: 0, removed: 0, reembedded: 0, cancelled: false });
}

mockWindows('main');
mockIPC(
  async (cmd, raw) => {
    const args = (raw ?? {}) as Record<string, unknown>;
    switch (cmd) {
      case 'library_overview':
        return makeOverview({ roots: documents.length ? ['/home/ana/manuals'] : [], documents });
      case 'list_conversations':
        return conversations;
      case 'conversation_turns':
        return [{ id: 1, question: answer.question, answer }];
      case 'delete_conversation':
        conversations = conversations.filter((c) => c.id !== args.conversation_id);
        return null;
      case 'model_status':
        return params.has('nomodel')
          ? makeModelStatus({
              ready: false,
              path: null,
              name: null,
              message: 'No answer model found. Quarry needs a GGUF language model to write answers.',
              looked_in: ['/home/ana/.local/share/quarry/models', '/usr/share/quarry/models'],
              how_to_get: 'Run `models/fetch` from the Quarry source folder, or download qwen2.5-coder-1.5b-instruct-q4_k_m.gguf into one of the folders above.',
            })
          : makeModelStatus();
      case 'ask': {
        const channel = args.on_event as { onmessage: (e: AnswerEvent) => void };
        const send = (e: AnswerEvent) => channel.onmessage(e);
        await sleep(500);
        send({
          kind: 'retrieved',
          conversation_id: 3,
          passages,
          not_found: false,
          preview: { number: 1, sentence: passages[0].text.split(/(?<=\.) /)[0] },
        });
        if (!conversations.some((c) => c.id === 3)) conversations = [makeConversation(3, { title: String(args.question) }), ...conversations];
        send({ kind: 'loading_model', path: '/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf' });
        await sleep(700);
        for (const word of answerText.split(/(?<= )/)) {
          send({ kind: 'token', text: word });
          await sleep(60);
        }
        send({ kind: 'done', turn_id: 9, answer });
        return { conversation_id: 3, turn_id: 9, answer };
      }
      case 'stop_answer':
        return null;
      case 'passage_context':
        return makeContext({
          document_id: Number(args.document_id),
          path: '/home/ana/manuals/pump-x200.pdf',
          title: 'Pump X200 service manual',
          page: 14,
          before: '6.3 Maintenance intervals\n\nCheck the oil level weekly. Grease the bearings every 200 hours. ',
          passage: passages[0].text,
          after: ' Always fit a complete seal kit; do not reuse the springs.\n\n6.4 Torque values\n\nImpeller nut: 45 Nm.',
        });
      case 'open_document':
        return null;
      case 'inspect_passage':
        return makeInspection({
          word_pieces: 'replace the mechanical seal every 500 operating hours , or sooner if the leak ##age exceeds 3 drops per minute .'
            .split(' ')
            .map((piece, i) => ({ piece, id: 2000 + i * 37, row: 2000 + i * 37, start: 0, end: 0 })),
          chunk_vector: { dimension: 384, first: [0.0123, -0.0456, 0.0789, 0.0021, -0.0311, 0.0602, -0.0097, 0.0444], norm: 1, cosine_with_question: 0.6421, stored_in: 'library.sqlite, table chunks' },
        });
      case 'get_settings':
        return makeSettings();
      case 'save_settings':
        return makeSettings(args as never);
      case 'add_paths':
      case 'reindex':
        void ingest(args.paths as string[]);
        return null;
      case 'remove_paths':
        documents = documents.filter((d) => !(args.paths as string[]).some((p) => d.path.startsWith(p)));
        void emit('library:changed');
        return { removed: 1 };
      case 'cancel_ingest':
        return null;
      case 'plugin:dialog|open':
        return (args.options as { directory?: boolean }).directory ? ['/home/ana/reports'] : ['/home/ana/Downloads/offer.pdf', '/home/ana/Downloads/setup.exe'];
      default:
        throw { code: 'invalid', message: `demo back end: no ${cmd}` };
    }
  },
  { shouldMockEvents: true },
);

await import('../src/main');
