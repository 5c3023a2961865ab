import { countTokens as countO200k, decode, encode } from 'gpt-tokenizer/encoding/o200k_base';

// BPE merging is quadratic in the length of one pre-token, so a long run without whitespace
// (minified code, base64, a 1 MB line of letters) can take seconds. Such runs are counted in
// windows; the count differs from the exact one by at most a token or two per window.
const WINDOW = 256;

/** Number of o200k tokens (GPT-4o / GPT-5 encoding) in `text`. */
export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  if (!hasLongRun(text)) return countO200k(text);
  let total = 0;
  for (const piece of windows(text)) total += countO200k(piece);
  return total;
}

const PARAGRAPH_BREAK = '\n\n';
const BREAK_TOKENS = countO200k(PARAGRAPH_BREAK);
// o200k's pre-tokenizer glues the line breaks after a punctuation run to it (` ?[^\s\p{L}\p{N}]+
// [\r\n/]*`), so a join after `.` or a closing fence is not two separate counts. Only ASCII runs
// are handled: a combining mark (emoji variation selectors) makes a run part of a word instead.
const TRAILING_PUNCT = / ?[!-/:-@[-`{-~]+$/;
const ENDS_IN_WORD = /[\p{L}\p{N}]$/u;

/**
 * o200k tokens of `parts.join('\n\n')` from each part's own count: the pre-tokenizer never
 * merges across a paragraph break except at its edges, so only the junctions are counted again.
 * Exact; a junction it cannot reason about (a part ending in whitespace, marks or a long
 * unbroken run, a next part starting with a line break or `/`) falls back to counting the text.
 */
export function countJoined(parts: ReadonlyArray<{ text: string; tokens: number }>): number {
  let total = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    total += part.tokens;
    const next = parts[i + 1];
    if (!next) break;
    const junction = junctionTokens(part.text, next.text);
    if (junction === undefined) return countTokens(parts.map((p) => p.text).join(PARAGRAPH_BREAK));
    total += junction;
  }
  return total;
}

function junctionTokens(before: string, after: string): number | undefined {
  const head = after.charCodeAt(0);
  // A line break would join the break's whitespace run; a long run would be windowed here.
  if (!after || head === 10 || head === 13 || edgeRun(before, true) || edgeRun(after, false)) {
    return undefined;
  }
  if (ENDS_IN_WORD.test(before)) return BREAK_TOKENS;
  const punct = TRAILING_PUNCT.exec(before)?.[0];
  // `[\r\n/]*` would also take a leading slash of the next part, and a run holding a slash may
  // have begun on the line above (`.\n///` is one pre-token).
  if (!punct || head === 47 || punct.includes('/')) return undefined;
  // The run must be the whole last pre-token: what precedes it must end a word or be a line break.
  const rest = before.slice(0, before.length - punct.length);
  if (rest && !/[\p{L}\p{N}\n]$/u.test(rest)) return undefined;
  if (punct.startsWith(' ') && /\s$/.test(rest)) return undefined;
  return countO200k(punct + PARAGRAPH_BREAK) - countO200k(punct);
}

/** True when the run of non-whitespace at the end (or start) of `text` could be windowed. */
function edgeRun(text: string, atEnd: boolean): boolean {
  let run = 0;
  for (let k = 0; k < text.length && run <= WINDOW; k++) {
    const c = text.charCodeAt(atEnd ? text.length - 1 - k : k);
    if (c === 32 || c === 10 || c === 9 || c === 13) return run === 0 && atEnd;
    run++;
  }
  return run > WINDOW || (atEnd && run === 0);
}

/** `text` cut to at most `maxTokens` o200k tokens (whole tokens; may end mid-word). */
export function truncateToTokens(text: string, maxTokens: number): string {
  if (maxTokens <= 0) return '';
  if (countTokens(text) <= maxTokens) return text;
  let out = '';
  let used = 0;
  for (const piece of windows(text)) {
    const ids = encode(piece);
    if (used + ids.length > maxTokens) return out + decode(ids.slice(0, maxTokens - used));
    out += piece;
    used += ids.length;
  }
  return out;
}

function hasLongRun(text: string): boolean {
  // A plain loop: the equivalent regex backtracks on every word.
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 9 || c === 13) run = 0;
    else if (++run > WINDOW) return true;
  }
  return false;
}

/** Splits text so no piece holds a whitespace-free run longer than WINDOW characters. */
function* windows(text: string): Generator<string> {
  const re = /\S{257,}/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) yield text.slice(last, m.index);
    for (let i = 0; i < m[0].length; i += WINDOW) yield m[0].slice(i, i + WINDOW);
    last = m.index + m[0].length;
  }
  if (last < text.length) yield text.slice(last);
}
