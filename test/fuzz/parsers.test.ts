/**
 * Property-based fuzzing of the pure parsers: page parsing + chunking (Markdown, MDX, HTML, RST,
 * text), library ids, versions and ranges, the workspace-deps header, tsvector text and the
 * identifier tokenizer. No input may throw where the contract says "never throws", and no case
 * may take longer than its time limit.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseWorkspaceDeps } from '../../shared/mcp.js';
import { formatLibraryId, parseLibraryId } from '../../shared/library-id.js';
import { chunkPage } from '../../server/indexing/chunk.js';
import type { PageFormat } from '../../server/indexing/types.js';
import { parseLibraryName } from '../../server/search/resolve.js';
import {
  codeIdentifiers,
  expandIdentifiers,
  identifierParts,
  withIdentifierParts,
} from '../../server/search/text.js';
import { parseTsvector } from '../../server/search/tsvector.js';
import {
  normalizeVersion,
  versionMatches,
  versionsFromRange,
} from '../../server/search/versions.js';
import { fuzzParams, fuzzRuns, markupText, timed } from './fuzz-helpers.js';

// CI defaults: the cheap parsers take ~0.05 ms a case, so 10,000 run in ~1 s; chunking a page
// costs ~2-6 ms (parse + o200k token counts), so CI runs 300 per format (1,500 cases, ~3 s).
const CHEAP = fuzzRuns(10_000);
const PAGES = fuzzRuns(300);
// Per-case limits: ~100x the median case, so only a pathological input trips them.
const CHEAP_LIMIT_MS = 250;
const PAGE_LIMIT_MS = 3_000;

const FORMATS: PageFormat[] = ['markdown', 'mdx', 'html', 'rst', 'text'];

describe('fuzz: parsers', function () {
  this.timeout(600_000);

  it(`chunkPage never throws and keeps its invariants on any page (${PAGES} cases x 5 formats)`, () => {
    for (const format of FORMATS) {
      fc.assert(
        fc.property(
          markupText(format === 'html' ? 80 : 60),
          fc.option(fc.integer({ min: -5, max: 2000 }), { nil: undefined }),
          (text, maxTokens) => {
            const page = { path: 'docs/p.md', format, text };
            const chunks = timed(
              PAGE_LIMIT_MS,
              () => chunkPage(page, maxTokens === undefined ? {} : { maxTokens }),
              () => JSON.stringify({ format, maxTokens, text }),
            );
            assert.ok(Array.isArray(chunks));
            chunks.forEach((c, i) => {
              assert.equal(c.ordinal, i);
              assert.equal(c.path, page.path);
              assert.equal(typeof c.text, 'string');
              assert.ok(Number.isInteger(c.tokens) && c.tokens >= 0, `tokens ${c.tokens}`);
              assert.ok(Array.isArray(c.breadcrumb) && Array.isArray(c.code));
            });
          },
        ),
        fuzzParams(PAGES),
      );
    }
  });

  it(`parseLibraryId accepts exactly the id pattern and round-trips (${CHEAP} cases)`, () => {
    const part = fc.string({ maxLength: 12 });
    const idLike = fc
      .tuple(part, part, fc.option(part), fc.constantFrom('/', '@', ' ', ''))
      .map(([a, b, v, sep]) => `/${a}/${b}${v === null ? '' : `${sep}${v}`}`);
    fc.assert(
      fc.property(fc.oneof(idLike, fc.string({ maxLength: 40 })), (raw) => {
        const parsed = timed(
          CHEAP_LIMIT_MS,
          () => parseLibraryId(raw),
          () => JSON.stringify(raw),
        );
        if (!parsed) return;
        assert.equal(parsed.libraryId, `/${parsed.owner}/${parsed.name}`);
        const again = parseLibraryId(formatLibraryId(parsed.libraryId, parsed.version));
        assert.deepEqual(again, parsed);
      }),
      fuzzParams(CHEAP),
    );
  });

  it(`version parsing never throws; a version matches itself (${CHEAP} cases)`, () => {
    const versionish = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc
        .array(fc.oneof(fc.nat({ max: 99 }).map(String), fc.constantFrom('x', '*', 'v', 'V')), {
          maxLength: 5,
        })
        .map((p) => p.join('.')),
      fc
        .constantFrom('^', '~', '>=', '<', ' ', '||', '-')
        .chain((op) => fc.string({ maxLength: 10 }).map((s) => op + s)),
    );
    fc.assert(
      fc.property(versionish, versionish, (a, b) => {
        timed(
          CHEAP_LIMIT_MS,
          () => {
            assert.equal(typeof normalizeVersion(a), 'string');
            assert.equal(versionMatches(a, a), true);
            assert.equal(typeof versionMatches(a, b), 'boolean');
            for (const v of versionsFromRange(a)) assert.match(v, /^\d+(\.\d+)?$/);
            const name = parseLibraryName(`${b} ${a}`);
            assert.ok(Array.isArray(name.words));
          },
          () => JSON.stringify([a, b]),
        );
      }),
      fuzzParams(CHEAP),
    );
  });

  it(`parseWorkspaceDeps returns a valid map or undefined, never throws (${CHEAP} cases)`, () => {
    const header = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json({ maxDepth: 3 }),
      fc
        .dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }))
        .map((d) => JSON.stringify(d)),
      fc.constant(undefined),
    );
    fc.assert(
      fc.property(header, (value) => {
        const deps = timed(
          CHEAP_LIMIT_MS,
          () => parseWorkspaceDeps(value),
          () => JSON.stringify(value),
        );
        if (deps === undefined) return;
        for (const [name, range] of Object.entries(deps)) {
          assert.ok(name.length >= 1 && name.length <= 214);
          assert.equal(typeof range, 'string');
        }
      }),
      fuzzParams(CHEAP),
    );
  });

  it(`parseTsvector never throws and round-trips what it is given (${CHEAP} cases)`, () => {
    const lexeme = fc.string({ minLength: 1, maxLength: 10 });
    const entry = fc
      .tuple(
        lexeme,
        fc.array(
          fc.tuple(fc.integer({ min: 1, max: 16383 }), fc.constantFrom('A', 'B', 'C', 'D')),
          { maxLength: 3 },
        ),
      )
      .map(([lex, pos]) => {
        const quoted = `'${lex.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
        const positions = pos.map(([p, w]) => `${p}${w === 'D' ? '' : w}`).join(',');
        return { lex, pos, text: positions ? `${quoted}:${positions}` : quoted };
      });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), fc.string({ maxLength: 30 }), (es, junk) => {
        const parsed = timed(
          CHEAP_LIMIT_MS,
          () => [...parseTsvector(es.map((e) => e.text).join(' '))],
          () => JSON.stringify(es),
        );
        assert.deepEqual(
          parsed.map(([lex]) => lex),
          es.map((e) => e.lex),
        );
        parsed.forEach(([, classes, positions], i) => {
          const want = es[i]!.pos;
          assert.deepEqual(
            positions,
            want.map(([p]) => p),
          );
          assert.deepEqual(classes, want.length ? want.map(([, w]) => w) : ['D']);
        });
        // Arbitrary text (not a tsvector) must end the generator, not loop or throw.
        timed(
          CHEAP_LIMIT_MS,
          () => [...parseTsvector(junk)],
          () => JSON.stringify(junk),
        );
      }),
      fuzzParams(CHEAP),
    );
  });

  it(`the identifier tokenizer never throws and only splits (${CHEAP} cases)`, () => {
    const identifierish = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc
        .array(
          fc.constantFrom('use', 'State', 'app', '.', '_', '$', 'get', 'HTTP', 'Server', '9'),
          {
            maxLength: 12,
          },
        )
        .map((p) => p.join('')),
    );
    fc.assert(
      fc.property(identifierish, markupText(20), (id, text) => {
        timed(
          CHEAP_LIMIT_MS,
          () => {
            for (const part of identifierParts(id)) {
              assert.ok(part.length > 0 && part !== id, JSON.stringify(part));
            }
            assert.equal(typeof expandIdentifiers(text), 'string');
            assert.ok(withIdentifierParts(text).startsWith(text));
            assert.equal(typeof codeIdentifiers([text], [id]), 'string');
          },
          () => JSON.stringify([id, text]),
        );
      }),
      fuzzParams(CHEAP),
    );
  });
});
