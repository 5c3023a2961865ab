/** The Markdown section `npm run bench` prints and appends to docs/BENCHMARKS.md. */
import os from 'node:os';
import type { IndexSummary } from '../server/indexing/pipeline.js';
import type { WireLatencies } from './bench-wire.js';
import type { ColdStart, Latencies, SetResult } from './bench.js';
import type { CorpusSet } from './corpus.js';
import { int, mb, median, ms, percentile, sec, summarize, table } from './bench-lib.js';

/** The acceptance bound for indexing the react set. */
const REACT_TARGET_MS = 5000;

// ---------------------------------------------------------------------------------------------
// Report

export interface CopyRun {
  copy: number;
  ms: number;
  sqlMs: number;
  failed: string[];
}

export interface Report {
  startedAt: Date;
  command: string;
  sets: CorpusSet[];
  copies: number;
  repeat: number;
  cold: ColdStart[];
  indexed: SetResult[];
  sqlByKind: [string, { ms: number; n: number }][];
  loop?: { slug: string; gaps: number[] };
  rssAfterColdMb: number;
  rssAfterIndexMb: number;
  rssNowAfterIndexMb: number;
  storeAfterIndexBytes: number;
  /** o200k tokens per stored chunk over every indexed set: p50, p95, max. */
  chunkTokens: { n: number; p50: number; p95: number; max: number };
  latency1: Latencies;
  wire: WireLatencies;
  copyRuns: CopyRun[];
  latencyN?: Latencies;
  storeAfterCopiesBytes?: number;
  rssEndMb: number;
  queryCount: number;
  resolveCount: number;
  totalMs: number;
}

/** p50 and p95 are the medians of the per-pass values; max is over all passes. */
function latencyTable(l: Latencies): string {
  const row = (name: string, passes: number[][]) => {
    const all = passes.flat();
    const p50 = median(passes.map((s) => percentile(s, 50)));
    const p95 = median(passes.map((s) => percentile(s, 95)));
    return [
      name,
      `${passes.length} × ${passes[0]?.length ?? 0}`,
      ms(p50),
      ms(p95),
      ms(Math.max(...all)),
    ];
  };
  return table(
    ['', 'passes × n', 'p50 ms', 'p95 ms', 'max ms'],
    [
      row('query, warm (index cached)', l.warmPasses),
      row('query, first per library (index load)', [[...l.first.values()]]),
      row('query, cold (cached index dropped)', l.coldPasses),
      row('resolve', l.resolvePasses),
    ],
  );
}

function errorsLine(l: Latencies): string {
  if (l.errors.size === 0) return '';
  const list = [...l.errors].map(([code, n]) => `${code} ×${n}`).join(', ');
  return `\nAnswers that were errors (one pass; their latency is included): ${list}.\n`;
}

export function render(r: Report): string {
  const cpus = os.cpus();
  const ok = r.indexed.filter((x) => x.summary);
  const failed = r.indexed.filter((x) => x.error);
  const totalIndexMs = r.indexed.reduce((n, x) => n + x.ms, 0);
  const totalSqlMs = r.indexed.reduce((n, x) => n + x.sqlMs, 0);
  const react = r.indexed.find((x) => x.set.slug === 'react');
  const sum = (f: (s: IndexSummary) => number) => ok.reduce((n, x) => n + f(x.summary!), 0);
  const lines: string[] = [];
  const p = (s = '') => lines.push(s);

  p(`## ${r.startedAt.toISOString()}`);
  p();
  p(
    `Machine: ${cpus[0]?.model ?? 'unknown CPU'} × ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `Node ${process.version}, ${os.type()} ${os.release()}.`,
  );
  p(`Command: \`${r.command}\``);
  p(
    `Sets: ${r.sets.length} (${r.sets.map((s) => s.slug).join(', ')}); copies: ${r.copies}; ` +
      `query passes: ${r.repeat} after one warm-up; ${r.queryCount} query items, ${r.resolveCount} resolve items; ` +
      `PGlite, fresh temporary data directory; total run ${sec(r.totalMs, 0)} s.`,
  );
  p();

  p('### Cold start (new data directory + migrations)');
  p();
  const opens = r.cold.map((c) => c.openMs);
  const migs = r.cold.map((c) => c.migrateMs);
  const tots = r.cold.map((c) => c.openMs + c.migrateMs);
  p(
    table(
      ['', `median of ${r.cold.length}`, 'min', 'max', 'first in process'],
      [
        [
          'open (initdb)',
          ...[median(opens), Math.min(...opens), Math.max(...opens), opens[0]!].map(
            (x) => `${ms(x, 0)} ms`,
          ),
        ],
        [
          'migrations',
          ...[median(migs), Math.min(...migs), Math.max(...migs), migs[0]!].map(
            (x) => `${ms(x, 0)} ms`,
          ),
        ],
        [
          'total',
          ...[median(tots), Math.min(...tots), Math.max(...tots), tots[0]!].map(
            (x) => `${ms(x, 0)} ms`,
          ),
        ],
      ],
    ),
  );
  p();

  p('### Indexing (sequential into one store, react first; one run each)');
  p();
  p(
    table(
      [
        'set',
        'kind',
        'files',
        'pages',
        'chunks',
        'tokens',
        'skipped',
        'time s',
        'SQL s',
        'other s',
        'pages/s',
      ],
      [
        ...r.indexed.map((x) => {
          const s = x.summary;
          const name = x.set.slug === 'react' ? '**react**' : x.set.slug;
          return [
            x.error ? `${name} (FAILED)` : name,
            x.set.kind,
            x.set.files,
            s ? int(s.pages) : '–',
            s ? int(s.chunks) : '–',
            s ? int(s.tokens) : '–',
            s ? s.skipped.length : '–',
            x.set.slug === 'react' ? `**${sec(x.ms)}**` : sec(x.ms),
            sec(x.sqlMs),
            sec(x.ms - x.sqlMs),
            s ? (s.pages / (x.ms / 1000)).toFixed(1) : '–',
          ];
        }),
        [
          '**total**',
          '',
          r.indexed.reduce((n, x) => n + x.set.files, 0),
          int(sum((s) => s.pages)),
          int(sum((s) => s.chunks)),
          int(sum((s) => s.tokens)),
          sum((s) => s.skipped.length),
          `**${sec(totalIndexMs)}**`,
          sec(totalSqlMs),
          sec(totalIndexMs - totalSqlMs),
          (sum((s) => s.pages) / (totalIndexMs / 1000)).toFixed(1),
        ],
      ],
    ),
  );
  p();
  if (react) {
    const met = react.summary && react.ms <= REACT_TARGET_MS;
    p(
      `**react: ${sec(react.ms)} s** (target ≤ ${REACT_TARGET_MS / 1000} s: ${met ? 'met' : 'NOT met'}), ` +
        'indexed first, right after the cold start.',
    );
  } else p('react was not among the sets: no react time.');
  p(
    `Peak RSS after indexing: ${r.rssAfterIndexMb.toFixed(0)} MB (peak after the cold starts, before indexing: ${r.rssAfterColdMb.toFixed(0)} MB; RSS now: ${r.rssNowAfterIndexMb.toFixed(0)} MB); ` +
      `store on disk: ${mb(r.storeAfterIndexBytes)} MB. "SQL" is time inside PGlite statements ` +
      '(including BEGIN/COMMIT); "other" is everything else (reading, parsing, chunking, token counting, building rows).',
  );
  const t = r.chunkTokens;
  p(
    `Chunk sizes over the indexed sets (${t.n.toLocaleString('en-US')} chunks): p50 ${t.p50} tokens, ` +
      `p95 ${t.p95}, max ${t.max.toLocaleString('en-US')} (the bound is 800 tokens; only a code fence ` +
      'is kept whole up to 4x that).',
  );
  for (const f of failed) p(`\nFAILED ${f.set.slug}: ${f.error}`);
  p();

  p('Where the SQL time goes (all sets above):');
  p();
  p(
    table(
      ['statement', 'count', 'total s', 'share of index time', 'ms each'],
      r.sqlByKind
        .slice(0, 8)
        .map(([kind, k]) => [
          `\`${kind}\``,
          k.n,
          sec(k.ms),
          `${((k.ms / totalIndexMs) * 100).toFixed(1)} %`,
          ms(k.ms / k.n, 2),
        ]),
    ),
  );
  p();

  p(`### Event loop while indexing ${r.loop?.slug ?? '(none)'} (10 ms setInterval)`);
  p();
  if (r.loop) {
    const g = summarize(r.loop.gaps);
    const over = (t: number) => r.loop!.gaps.filter((x) => x > t).length;
    p(
      table(
        [
          'ticks',
          'p50 gap ms',
          'p99 gap ms',
          'max gap ms',
          'gaps > 50 ms',
          'gaps > 100 ms',
          'gaps > 250 ms',
        ],
        [[g.n, ms(g.p50), ms(g.p99), ms(g.max), over(50), over(100), over(250)]],
      ),
    );
  } else p('Not measured.');
  p();

  p(`### Query latency at corpus size (1 copy, ${ok.length} libraries)`);
  p();
  p(latencyTable(r.latency1));
  p(errorsLine(r.latency1));

  p('### Round trips on a loopback socket (1 copy, warm, 2 passes after one warm-up)');
  p();
  p('|  | n | p50 ms | p95 ms | max ms |');
  p('| --- | ---: | ---: | ---: | ---: |');
  for (const [label, xs] of [
    ['query-docs over MCP Streamable HTTP (SDK client)', r.wire.mcp],
    ['GET /api/v1/context (fetch)', r.wire.rest],
  ] as const) {
    p(
      `| ${label} | ${xs.length} | ${ms(percentile(xs, 50))} | ${ms(percentile(xs, 95))} | ${ms(Math.max(...xs))} |`,
    );
  }
  p();

  if (r.latencyN) {
    p(
      `### Query latency with ${r.copies} copies of the corpus (${ok.length * r.copies} library versions)`,
    );
    p();
    p(
      table(
        ['copy', 'index time s', 'SQL s', 'failed sets'],
        r.copyRuns.map((c) => [
          c.copy,
          sec(c.ms),
          sec(c.sqlMs),
          c.failed.length ? c.failed.join(', ') : '–',
        ]),
      ),
    );
    p();
    p(
      `Store on disk with ${r.copies} copies: ${mb(r.storeAfterCopiesBytes ?? 0)} MB. Same workload, original ids:`,
    );
    p();
    p(latencyTable(r.latencyN));
    p(errorsLine(r.latencyN));
  }

  p('### Per library');
  p();
  const perLib = (l: Latencies | undefined, slug: string) => {
    const warm = l?.warm.get(slug) ?? [];
    const cold = l?.cold.get(slug) ?? [];
    return [ms(median(cold)), ms(percentile(warm, 50)), ms(percentile(warm, 95))];
  };
  const head = ['set', 'chunks', 'items', 'cold ms (median)', 'warm p50 ms', 'warm p95 ms'];
  if (r.latencyN) head.push(`cold ×${r.copies}`, `warm p50 ×${r.copies}`, `warm p95 ×${r.copies}`);
  p(
    table(
      head,
      ok.map((x) => [
        x.set.slug,
        int(x.summary!.chunks),
        (r.latency1.warm.get(x.set.slug)?.length ?? 0) / r.repeat,
        ...perLib(r.latency1, x.set.slug),
        ...(r.latencyN ? perLib(r.latencyN, x.set.slug) : []),
      ]),
    ),
  );
  p();
  p(`Peak RSS at the end: ${r.rssEndMb.toFixed(0)} MB.`);
  p();
  return lines.join('\n');
}
