/**
 * Shared settings of the fast-check suites. `TWINMCP_FUZZ_RUNS` sets the cases of every property
 * (`npm run fuzz` = 10,000); without it each suite uses its CI default, chosen to keep all fuzz
 * files under ~60 s on a 2-core machine (docs/RELIABILITY.md, "Fuzz").
 */
import fc from 'fast-check';

/** Cases per property: TWINMCP_FUZZ_RUNS when set, else `ciDefault`. */
export function fuzzRuns(ciDefault: number): number {
  const raw = process.env.TWINMCP_FUZZ_RUNS?.trim();
  const n = raw ? Number(raw) : NaN;
  return Number.isInteger(n) && n > 0 ? n : ciDefault;
}

/** A reproducible seed when TWINMCP_FUZZ_SEED is set (to replay a reported failure). */
export function fuzzParams(runs: number): fc.Parameters<unknown> {
  const seed = Number(process.env.TWINMCP_FUZZ_SEED);
  return { numRuns: runs, ...(Number.isInteger(seed) ? { seed } : {}) };
}

/**
 * Runs `fn` and fails when one case takes longer than `limitMs`: catches super-linear regexes
 * and parsers that slow to a crawl on some input (a synchronous infinite loop is caught by the
 * mocha test timeout instead, as nothing can interrupt it in-thread).
 */
export function timed<T>(limitMs: number, fn: () => T, describeInput: () => string): T {
  const started = performance.now();
  const result = fn();
  const took = performance.now() - started;
  if (took > limitMs) {
    throw new Error(
      `one case took ${Math.round(took)} ms (limit ${limitMs} ms): ${describeInput()}`,
    );
  }
  return result;
}

/** Tokens that drive Markdown/MDX/HTML/RST parsers into their less travelled branches. */
const MARKUP = [
  '# ',
  '## ',
  '###### ',
  '\n',
  '\n\n',
  '\r\n',
  '    ',
  '\t',
  ' ',
  '```',
  '```ts\n',
  '~~~',
  '`',
  '*',
  '**',
  '_',
  '[',
  ']',
  '(',
  ')',
  '![',
  '](',
  '<',
  '>',
  '</',
  '/>',
  '<div>',
  '</div>',
  '<script>',
  '<pre><code>',
  '</code></pre>',
  '<h1>',
  '</h1>',
  '<h2 id="x">',
  '<table><tr><td>',
  '<!--',
  '-->',
  '&amp;',
  '&#x0;',
  '&',
  '|',
  '| --- |',
  '---',
  '===',
  '***',
  '> ',
  '- ',
  '* ',
  '1. ',
  '{',
  '}',
  '{/* c */}',
  'import X from "y"\n',
  'export const a = 1\n',
  '<Comp a={1}>',
  '</Comp>',
  '<Tabs items={["a"]}>',
  ':::note\n',
  ':::\n',
  '.. code-block:: python\n',
  '.. note::',
  '::\n',
  '====\n',
  '----\n',
  '~~~~\n',
  '`text <http://x>`_',
  ':ref:`x`',
  '\\',
  '\u0000',
  '\u200b',
  '\ud83d\ude00',
  'é',
  '漢字',
  'useState',
  'app.get',
  'snake_case',
  'http://a.b/c',
  '[^1]',
  '[^1]: note',
  '- [ ] ',
  '- [x] ',
  '$$',
  '\\(',
  '---\ntitle: T\n---\n',
];

/** Markup-heavy text: mostly the tokens above, mixed with arbitrary strings. */
export function markupText(maxParts = 60): fc.Arbitrary<string> {
  return fc
    .array(
      fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...MARKUP) },
        { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
        { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
        { weight: 2, arbitrary: fc.constantFrom('word', 'Fastify', 'route', 'hooks', 'API') },
      ),
      { maxLength: maxParts },
    )
    .map((parts) => parts.join(''));
}
