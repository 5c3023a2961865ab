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
