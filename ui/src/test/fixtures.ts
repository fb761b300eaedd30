// Values shaped like the Rust side's, for tests.

import type {
  Answer,
  Conversation,
  Document,
  IngestEvent,
  Inspection,
  LibraryOverview,
  ModelStatus,
  Passage,
  PassageContext,
  Settings,
} from '../lib/types';

export function makePassage(number: number, over: Partial<Passage> = {}): Passage {
  return {
    number,
    chunk_id: 100 + number,
    document_id: number,
    path: `/home/ana/docs/manual-${number}.pdf`,
    title: `Manual ${number}`,
    page: number + 1,
    unit: 'page',
    ocr: false,
    section: null,
    span: { start: number * 1000, end: number * 1000 + 200 },
    text: `Passage ${number}: the seal is replaced every 500 hours of operation.`,
    rank: number,
    scores: { score: 0.03, dense_rank: number, dense_score: 0.71, lexical_rank: number, lexical_score: 7.2 },
    ...over,
  };
}

export function makeAnswer(over: Partial<Answer> = {}): Answer {
  const retrieved = over.retrieved ?? [makePassage(1), makePassage(2)];
  return {
    question: 'How often is the seal replaced?',
    search_query: 'How often is the seal replaced?',
    answer: 'The seal is replaced every 500 hours [1]. Check it monthly [2].',
    raw_answer: 'The seal is replaced every 500 hours [1]. Check it monthly [2].',
    citations: retrieved.map((p) => ({
      number: p.number,
      path: p.path,
      title: p.title,
      page: p.page,
      unit: p.unit,
      ocr: p.ocr,
      span: p.span,
      text: p.text,
      sentences: [p.number - 1],
      inferred: false,
      support: 0.8,
    })),
    retrieved,
    also_retrieved: [],
    not_found: false,
    abstention: null,
    stopped: false,
    sentences: ['The seal is replaced every 500 hours [1].', 'Check it monthly [2].'],
    sentence_citations: retrieved.map((p) => ({
      sentence: p.number - 1,
      source: p.number,
      support: 0.8,
      status: 'kept' as const,
      moved_from: null,
    })),
    citation_check: {
      written: retrieved.length,
      kept: retrieved.length,
      moved: 0,
      dropped_unsupported: 0,
      dropped_invalid: 0,
      inferred: false,
      unsupported_sentences: [],
    },
    timing: {
      retrieval_ms: 31,
      prompt_tokens: 812,
      reused_prompt_tokens: 0,
      prompt_tokens_per_second: 410.5,
      time_to_first_token_ms: 420,
      generated_tokens: 24,
      tokens_per_second: 12.34,
      total_ms: 2400,
    },
    model: '/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf',
    ...over,
  };
}

export function makeDocument(id: number, over: Partial<Document> = {}): Document {
  return {
    id,
    path: `/home/ana/docs/doc-${id}.pdf`,
    title: `Document ${id}`,
    format: 'pdf',
    status: 'indexed',
    error: null,
    chunks: 12,
    size: 48_213,
    unit: 'page',
    units: 3,
    ocr_units: 0,
    ...over,
  };
}

export function makeOverview(over: Partial<LibraryOverview> = {}): LibraryOverview {
  return { dir: '/home/ana/.local/share/quarry', roots: [], documents: [], ingest_running: false, mismatch: null, ...over };
}

export function makeModelStatus(over: Partial<ModelStatus> = {}): ModelStatus {
  return {
    ready: true,
    path: '/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf',
    name: 'qwen2.5-coder-1.5b-instruct-q4_k_m',
    default_file: 'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf',
    looked_in: ['/home/ana/.local/share/quarry/models'],
    how_to_get: 'Download the GGUF and put it in one of those folders.',
    message: null,
    ...over,
  };
}

export function makeConversation(id: number, over: Partial<Conversation> = {}): Conversation {
  return { id, title: `Conversation ${id}`, created_at: 1_764_000_000 + id, updated_at: 1_764_000_000 + id, turns: 1, ...over };
}

export function makeContext(over: Partial<PassageContext> = {}): PassageContext {
  return {
    document_id: 1,
    path: '/home/ana/docs/manual-1.pdf',
    title: 'Manual 1',
    page: 2,
    unit: 'page',
    ocr: false,
    before: 'Maintenance schedule. ',
    passage: 'The seal is replaced every 500 hours of operation.',
    after: ' Use only genuine parts.',
    truncated_before: true,
    truncated_after: false,
    ...over,
  };
}

export function makeInspection(over: Partial<Inspection> = {}): Inspection {
  return {
    question: 'How often is the seal replaced?',
    chunk_id: 101,
    path: '/home/ana/docs/manual-1.pdf',
    page: 2,
    unit: 'page',
    text: 'The seal is replaced every 500 hours.',
    word_pieces: [
      { piece: '[CLS]', id: 101, row: 101, start: 0, end: 0 },
      { piece: 'the', id: 1996, row: 1996, start: 0, end: 3 },
      { piece: 'seal', id: 7744, row: 7744, start: 4, end: 8 },
    ],
    word_pieces_truncated: false,
    token_embeddings: {
      file: '/models/all-MiniLM-L6-v2/model.safetensors',
      tensor: 'embeddings.word_embeddings.weight',
      shape: [30522, 384],
      note: 'Each piece starts as one row of this table.',
    },
    chunk_vector: {
      dimension: 384,
      first: [0.0123, -0.0456, 0.0789],
      norm: 1,
      cosine_with_question: 0.6421,
      stored_in: 'library.sqlite (chunks.vector)',
    },
    retrieval: {
      dense_rank: 1,
      dense_score: 0.6421,
      lexical_rank: 3,
      lexical_score: 5.5,
      fused_rank: 1,
      fused_score: 0.0325,
    },
    ...over,
  };
}

export function makeSettings(over: Partial<Settings> = {}): Settings {
  return {
    library_dir: '/home/ana/.local/share/quarry',
    model_path: null,
    embedder_dir: null,
    embed_precision: null,
    models_dir: '/home/ana/.local/share/quarry/models',
    passages: 5,
    engine_url: null,
    engine_model: null,
    engine_context: null,
    engine_key_set: false,
    answers_by: 'this computer',
    embed_url: null,
    embed_model: null,
    embeddings_by: 'this computer',
    embedder_error: null,
    embedder: {
      name: 'all-MiniLM-L6-v2',
      path: '/models/all-MiniLM-L6-v2',
      dimension: 384,
      weights_sha256: 'ab'.repeat(32),
      engine: 'candle',
      precision: 'f32',
      max_tokens: 256,
    },
    models: [
      {
        path: '/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf',
        file_name: 'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf',
        architecture: 'qwen2',
        parameters: '1.5B',
        quantization: 'Q4_K_M',
        is_default: true,
      },
      {
        path: '/models/gemma-3-1b-it-q4_0.gguf',
        file_name: 'gemma-3-1b-it-q4_0.gguf',
        architecture: 'gemma3',
        parameters: '1B',
        quantization: 'Q4_0',
        is_default: false,
      },
    ],
    ...over,
  };
}

/** An ingest run's end: every count 0 unless given. */
export function makeFinished(over: Partial<Extract<IngestEvent, { kind: 'finished' }>> = {}): IngestEvent {
  return { kind: 'finished', added: 0, updated: 0, unchanged: 0, failed: 0, removed: 0, reembedded: 0, cancelled: false, ...over };
}
