/**
 * Text preparation shared by indexing and querying, so both sides produce the same lexemes.
 *
 * PostgreSQL's `english` configuration stems words and keeps dotted names whole (`app.get`), but
 * does not split camelCase (`useState`) and keeps `snake_case` parts only. Code questions name
 * identifiers either way ("use state", "addHook", "add hook"), so identifiers are indexed whole
 * and split: the expansion below is appended to the text given to `to_tsvector`.
 */

const IDENTIFIER = /[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*/g;
const CAMEL_BOUNDARY = /([a-z0-9])([A-Z])|([A-Z]+)([A-Z][a-z])/g;

/** Parts of one identifier: `fastify.addHook` -> [fastify, addHook, add, Hook]. */
export function identifierParts(identifier: string): string[] {
  const parts = new Set<string>();
  for (const segment of identifier.split(/[.$]+/)) {
    if (!segment) continue;
    if (segment !== identifier) parts.add(segment);
    const words = segment
      .replace(CAMEL_BOUNDARY, (_m, a, b, c, d) => (a ? `${a} ${b}` : `${c} ${d}`))
      .split(/[_\s]+/)
      .filter(Boolean);
    if (words.length > 1) for (const w of words) parts.add(w);
    // `_` alone would add '' (found by test/fuzz/parsers.test.ts).
    const joined = segment.replace(/_/g, '');
    if (joined && joined !== segment) parts.add(joined);
  }
  return [...parts];
}

function isCompound(token: string): boolean {
  return /[a-z][A-Z]|[A-Za-z]\.[A-Za-z]|[A-Za-z]_[A-Za-z]/.test(token);
}

/** The extra words for every compound identifier in `text` (camelCase, dotted, snake_case). */
export function expandIdentifiers(text: string): string {
  const extra: string[] = [];
  const seen = new Set<string>();
  for (const m of text.matchAll(IDENTIFIER)) {
    const token = m[0];
    if (token.length > 80 || !isCompound(token) || seen.has(token)) continue;
    seen.add(token);
    extra.push(...identifierParts(token));
  }
  return extra.join(' ');
}

/** Text plus its identifier expansion, ready for `to_tsvector`. */
export function withIdentifierParts(text: string): string {
  const extra = expandIdentifiers(text);
  return extra ? `${text}\n${extra}` : text;
}

/** Identifiers named in code (fences and inline code), for the code-identifier field. */
export function codeIdentifiers(code: string[], inlineCode: string[]): string {
  const ids = new Set<string>();
  for (const block of [...code, ...inlineCode]) {
    for (const m of block.matchAll(IDENTIFIER)) {
      const token = m[0];
      if (
        token.length >= 3 &&
        token.length <= 80 &&
        (isCompound(token) || inlineCode.includes(block))
      )
        ids.add(token);
    }
  }
  return withIdentifierParts([...ids].join(' '));
}

/**
 * PostgreSQL text cannot hold U+0000: a NUL in a name or question made the statement fail with a
 * 500 (found by test/fuzz/inputs.test.ts); a usage event holding it could fail its whole batch.
 */
export function withoutNul(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '') : text;
}
