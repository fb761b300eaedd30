// The IPC contract between this UI and Quarry's Rust side: a mirror of
// src-tauri/src/dto.rs, field for field (the command names are checked
// against src-tauri/src/command_list.rs by src-tauri/tests/commands.rs).
// All JSON keys are snake_case, command arguments included. Nothing else in
// the UI defines wire shapes.

/** Every command rejects with this shape. */
export interface QuarryErrorShape {
  code: ErrorCode | string;
  message: string;
  details?: string | null;
}

export type ErrorCode = 'no_model' | 'model' | 'library' | 'busy' | 'not_found' | 'invalid' | 'io';

// ---- Library ---------------------------------------------------------------

export type DocStatus = 'indexed' | 'failed';

export interface Document {
  id: number;
  path: string;
  title: string | null;
  format: string | null;
  status: DocStatus;
  error: string | null;
  chunks: number;
  size: number;
  /** What the format's units are: "page", "slide", "sheet" or "message". */
  unit: string;
  /** Units indexed (0 for formats without them), and how many were read by OCR. */
  units: number;
  ocr_units: number;
}

export type FileState = 'queued' | 'indexing' | 'added' | 'updated' | 'unchanged' | 'failed' | 'removed';

export type FileOutcome = 'added' | 'updated' | 'unchanged' | 'failed' | 'removed';

export interface LibraryOverview {
  dir: string;
  roots: string[];
  documents: Document[];
  ingest_running: boolean;
  /** Set when the passages were embedded by another embedder than the one now chosen: nothing is searched or added until they are re-embedded. */
  mismatch: EmbedderMismatch | null;
}

export interface EmbedderMismatch {
  /** "all-MiniLM-L6-v2 at f32": what made the passages, and what is chosen now. */
  library: string;
  current: string;
  passages: number;
}

export type IngestEvent =
  /** Files that will be (re)indexed; `total` counts every file looked at, unchanged ones included. */
  | { kind: 'queued'; total: number; paths: string[] }
  /** A file began embedding. */
  | { kind: 'started'; path: string }
  /** Indexing waits while a question is answered (`paused`), or goes on. */
  | { kind: 'paused'; paused: boolean }
  /** The library's passages are being re-embedded. */
  | { kind: 'reembedding'; done: number; total: number }
  | {
      kind: 'file';
      done: number;
      total: number;
      path: string;
      outcome: FileOutcome;
      chunks: number;
      error: string | null;
    }
  | ({ kind: 'finished' } & IngestSummary)
  | { kind: 'failed'; error: QuarryErrorShape };

/** What a finished ingest run did, file by file counted. */
export interface IngestSummary {
  added: number;
  updated: number;
  unchanged: number;
  failed: number;
  removed: number;
  /** Passages re-embedded (a re-embedding run; 0 for files). */
  reembedded: number;
  cancelled: boolean;
}

// ---- Answers ---------------------------------------------------------------

export interface Scores {
  score: number;
  dense_rank: number | null;
  dense_score: number | null;
  lexical_rank: number | null;
  lexical_score: number | null;
}

/** Byte offsets into the document's extracted text. */
export interface Span {
  start: number;
  end: number;
}

export interface Passage {
  number: number;
  chunk_id: number;
  document_id: number;
  path: string;
  title: string | null;
  page: number | null;
  /** What `page` counts: "page", "slide", "sheet" or "message". */
  unit: string;
  /** The text was recognised by OCR from a scan or photo. */
  ocr: boolean;
  section: string | null;
  span: Span;
  text: string;
  rank: number;
  scores: Scores;
}

export interface Citation {
  number: number;
  path: string;
  title: string | null;
  page: number | null;
  /** What `page` counts: "page", "slide", "sheet" or "message". */
  unit: string;
  /** The text was recognised by OCR from a scan or photo. */
  ocr: boolean;
  span: Span;
  text: string;
  sentences: number[];
  inferred: boolean;
  support: number;
}

export interface Timing {
  retrieval_ms: number;
  prompt_tokens: number;
  reused_prompt_tokens: number;
  prompt_tokens_per_second: number;
  time_to_first_token_ms: number;
  generated_tokens: number;
  tokens_per_second: number;
  total_ms: number;
}

/** How one sentence of the answer uses one passage, as the check decided. */
export interface SentenceCitation {
  sentence: number;
  source: number;
  support: number;
  status: 'kept' | 'moved' | 'inferred' | 'unchecked';
  /** For `moved`: the source the model had written. */
  moved_from: number | null;
}

export interface CitationCheck {
  written: number;
  kept: number;
  moved: number;
  dropped_unsupported: number;
  dropped_invalid: number;
  inferred: boolean;
  /** The sentences no passage supports, as the answer has them. */
  unsupported_sentences: string[];
}

export interface Answer {
  question: string;
  /** What retrieval searched: the question, with the previous one for a follow-up. */
  search_query: string;
  /** Text with corrected [n] marks. */
  answer: string;
  raw_answer: string;
  citations: Citation[];
  /** Numbered as in the prompt. */
  retrieved: Passage[];
  also_retrieved: Passage[];
  not_found: boolean;
  abstention: 'retrieval' | 'model' | 'unsupported' | null;
  stopped: boolean;
  sentences: string[];
  sentence_citations: SentenceCitation[];
  citation_check: CitationCheck;
  timing: Timing;
  model: string | null;
}

/** The sentence shown the moment retrieval is done, while the model reads. */
export interface Preview {
  /** The passage's number among those retrieved. */
  number: number;
  /** The sentence exactly as the passage's text has it. */
  sentence: string;
}

export type AnswerEvent =
  | { kind: 'retrieved'; conversation_id: number; passages: Passage[]; not_found: boolean; preview: Preview | null }
  | { kind: 'loading_model'; path: string }
  | { kind: 'token'; text: string }
  | { kind: 'done'; turn_id: number; answer: Answer };

export interface AskResult {
  conversation_id: number;
  turn_id: number;
  answer: Answer;
}

export interface Conversation {
  id: number;
  title: string;
  created_at: number;
  updated_at: number;
  turns: number;
}

export interface Turn {
  id: number;
  question: string;
  answer: Answer;
}

// ---- Models, sources, inspection, settings ---------------------------------

export interface ModelStatus {
  ready: boolean;
  path: string | null;
  name: string | null;
  default_file: string;
  looked_in: string[];
  how_to_get: string;
  message: string | null;
}

export interface PassageContext {
  document_id: number;
  path: string;
  title: string | null;
  page: number | null;
  /** What `page` counts: "page", "slide", "sheet" or "message". */
  unit: string;
  /** The text was recognised by OCR from a scan or photo. */
  ocr: boolean;
  before: string;
  passage: string;
  after: string;
  truncated_before: boolean;
  truncated_after: boolean;
}

export interface WordPiece {
  piece: string;
  id: number;
  row: number;
  start: number;
  end: number;
}

export interface Inspection {
  question: string;
  chunk_id: number;
  path: string;
  page: number | null;
  unit: string;
  text: string;
  word_pieces: WordPiece[];
  word_pieces_truncated: boolean;
  token_embeddings: {
    file: string;
    /** e.g. "embeddings.word_embeddings.weight" */
    tensor: string;
    shape: [number, number];
    note: string;
  };
  chunk_vector: {
    dimension: number;
    first: number[];
    norm: number;
    cosine_with_question: number;
    stored_in: string;
  };
  retrieval: {
    dense_rank: number | null;
    dense_score: number | null;
    lexical_rank: number | null;
    lexical_score: number | null;
    fused_rank: number | null;
    fused_score: number | null;
  };
}

export interface EmbedderInfo {
  name: string;
  path: string;
  dimension: number;
  weights_sha256: string;
  /** The engine and precision its vectors are computed with. */
  engine: string;
  precision: string;
  max_tokens: number;
}

export interface ModelInfo {
  path: string;
  file_name: string;
  architecture: string | null;
  parameters: string | null;
  quantization: string | null;
  is_default: boolean;
}

export interface Settings {
  library_dir: string;
  model_path: string | null;
  /** The embedding model's folder chosen in the app (null: the default one, wherever it is found). */
  embedder_dir: string | null;
  /** The local encoder's precision as set (null: the library's own, int8 for a new one); the one running is `embedder.precision`. */
  embed_precision: Precision | null;
  /** The app's models folder, where chosen models are linked. */
  models_dir: string;
  passages: number;
  /** An OpenAI-compatible server that writes the answers (null: this computer). */
  engine_url: string | null;
  engine_model: string | null;
  engine_context: number | null;
  /** Whether QUARRY_ENGINE_API_KEY holds a key (keys are never stored). */
  engine_key_set: boolean;
  /** Where answers are made: "qwen2.5-7b at http://gpu-box:8000/v1" or "this computer". */
  answers_by: string;
  /** An OpenAI-compatible server that makes the embeddings (null: this computer). */
  embed_url: string | null;
  embed_model: string | null;
  /** Where embeddings are made. */
  embeddings_by: string;
  /** Null when the embedder cannot be loaded or reached; `embedder_error` says why. */
  embedder: EmbedderInfo | null;
  embedder_error: string | null;
  models: ModelInfo[];
}

/** The local encoder's arithmetic. */
export type Precision = 'int8' | 'f32';

export interface SettingsUpdate {
  library_dir: string;
  model_path: string | null;
  embedder_dir: string | null;
  embed_precision: Precision | null;
  passages: number;
  engine_url: string | null;
  engine_model: string | null;
  engine_context: number | null;
  embed_url: string | null;
  embed_model: string | null;
}

/** What a person chooses on disk when Quarry has no model. */
export type ModelKind = 'embedder' | 'answer';
