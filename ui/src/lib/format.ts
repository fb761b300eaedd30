// Small display helpers.

/** The last component of a path, for either separator. */
export function fileName(path: string): string {
  const trimmed = path.replace(/[\\/]+$/, '');
  const i = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return i >= 0 ? trimmed.slice(i + 1) : trimmed;
}

/**
 * The model an answer records, as a person reads it: a local GGUF by its file name, a
 * remote engine as "model at URL" (where the question and its passages were sent).
 */
export function answeredBy(model: string): string {
  return /\sat\shttps?:\/\//.test(model) ? model : fileName(model);
}

/**
 * Where in its document a passage is, as a person says it: "slide 3", "sheet 2",
 * "page 12" (the unit comes from the document's format); null without a number.
 */
export function place(unit: string | undefined, page: number | null): string | null {
  return page != null ? `${unit || 'page'} ${page}` : null;
}

/** The OCR marker's explanation, wherever OCR'd text is shown. */
export const OCR_NOTE = 'Text recognised from the scan (OCR): it may contain recognition errors.';

/** A document's title, or its file name when it has none. */
export function displayTitle(title: string | null | undefined, path: string): string {
  const t = title?.trim();
  return t ? t : fileName(path);
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

export function formatScore(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);
}

export function formatRank(r: number | null | undefined): string {
  return r === null || r === undefined ? 'not ranked' : `#${r}`;
}

/**
 * A timestamp from the back end as a short local date. Accepts Unix seconds or
 * milliseconds (anything below 10^11 is taken as seconds).
 */
export function formatWhen(ts: number, now: Date = new Date()): string {
  if (!Number.isFinite(ts) || ts <= 0) return '';
  const d = new Date(ts < 1e11 ? ts * 1000 : ts);
  const sameDay = d.toDateString() === now.toDateString();
  if (sameDay) return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  const sameYear = d.getFullYear() === now.getFullYear();
  return d.toLocaleDateString(undefined, sameYear ? { month: 'short', day: 'numeric' } : { year: 'numeric', month: 'short', day: 'numeric' });
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
