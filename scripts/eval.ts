/**
 * Retrieval eval: `npm run eval -- [--questions FILE] [--json] [--no-distractors] [--verbose]`.
 * Indexes ../shared/corpus (cached under .cache/eval/<key>) and scores query and resolve items as
 * described in ../shared/eval/README.md.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseLibraryId } from '../shared/library-id.js';
import { openPglite } from '../server/db/pglite.js';
import { ChunkPool } from '../server/indexing/chunk-pool.js';
import { createEngine } from '../server/engine.js';
import { countTokens } from '../server/indexing/tokens.js';
import {
  EVAL_DIR,
  REPO_ROOT,
  corpusSets,
  distractorPackages,
  indexCorpusSet,
  indexDistractor,
  indexKey,
  requireCorpus,
  evalLibraries,
  loadQuestions,
} from './corpus.js';
import { formatSnippet } from '../server/search/format.js';

const { values: args } = parseArgs({
  options: {
    questions: { type: 'string', default: join(EVAL_DIR, 'questions.jsonl') },
    json: { type: 'boolean', default: false },
    'no-distractors': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    rebuild: { type: 'boolean', default: false },
    /** Ranking experiments: reuse the newest complete index even if the indexing code changed. */
    reuse: { type: 'boolean', default: false },
  },
});

/** The README's matching rule: case folded, `\` escapes removed, `` ` `` `*` `_` removed, whitespace collapsed. */
export function normalize(text: string): string {
  return text
    .toLowerCase()
    .replace(/\\([\\`*_{}[\]()#+\-.!<>|~"'])/g, '$1')
    .replace(/[`*_]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function log(msg: string) {
  if (!args.json) console.log(msg);
  else console.error(msg);
}

async function openIndex() {
  requireCorpus();
  const suffix = args['no-distractors'] ? '-nd' : '';
  let key = `${await indexKey()}${suffix}`;
  if (args.reuse) {
    const root = join(REPO_ROOT, '.cache', 'eval');
    const newest = (existsSync(root) ? readdirSync(root) : [])
      .filter((d) => existsSync(join(root, d, 'COMPLETE')))
      .filter((d) => (suffix ? d.endsWith(suffix) : !d.endsWith('-nd')))
      .map((d) => ({ d, t: statSync(join(root, d, 'COMPLETE')).mtimeMs }))
      .sort((a, b) => b.t - a.t)[0];
    if (newest) {
      key = newest.d;
      log(`reusing index ${key} (--reuse: built by possibly older indexing code)`);
    }
  }
  const dir = join(REPO_ROOT, '.cache', 'eval', key);
  const done = join(dir, 'COMPLETE');
  if (args.rebuild || !existsSync(done)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
  const db = await openPglite({ dataDir: join(dir, 'pgdata') });
  const engine = await createEngine({ config: { dataDir: dir }, db, worker: false });
  if (!existsSync(done)) {
    const started = Date.now();
    const pool = ChunkPool.create();
    for (const set of corpusSets()) {
      const s = await indexCorpusSet(db, set, '', pool);
      log(
        `indexed ${set.slug}: ${s.pages} pages, ${s.snippets} snippets, ${s.skipped.length} skipped`,
      );
      for (const k of s.skipped) log(`  skipped ${k.path}: ${k.reason}`);
    }
    if (!args['no-distractors']) {
      const pkgs = distractorPackages();
      let n = 0;
      for (const pkg of pkgs) {
        try {
          await indexDistractor(db, pkg, pool);
          n++;
        } catch (err) {
          log(`  distractor ${pkg.name} not indexed: ${(err as Error).message}`);
        }
      }
      log(`indexed ${n} distractor packages from node_modules`);
    }
    await pool?.close();
    writeFileSync(done, new Date().toISOString());
    log(`index built in ${((Date.now() - started) / 1000).toFixed(1)} s (${dir})`);
  }
  return { db, engine };
}

interface Tally {
  n: number;
  [k: string]: number;
}
const add = (m: Map<string, Tally>, key: string, vals: Record<string, number>) => {
  const t = m.get(key) ?? { n: 0 };
  t.n += 1;
  for (const [k, v] of Object.entries(vals)) t[k] = (t[k] ?? 0) + v;
  m.set(key, t);
};

async function main() {
  const items = loadQuestions(args.questions!);
  const libs = evalLibraries();
  const { db, engine } = await openIndex();

  const q = new Map<string, Tally>();
  const r = new Map<string, Tally>();
  const misses: string[] = [];
  for (const item of items) {
    if (item.type === 'query') {
      const lib = libs[item.library];
      if (!lib) throw new Error(`${item.id}: unknown library ${item.library}`);
      const id = lib.version ? `${lib.libraryId}/${lib.version}` : lib.libraryId;
      const phrases = item.expect.phrases.map(normalize);
      let texts: string[] = [];
      let paths: string[] = [];
      let full = '';
      try {
        const out = await engine.query(id, item.query, 5000, { client: 'eval' });
        const ordered = [...out.json.codeSnippets, ...out.json.infoSnippets].sort(
          (a, b) => b.score - a.score,
        );
        texts = ordered.map((s) => normalize(formatSnippet(s)));
        paths = ordered.map((s) => s.path);
        full = out.text;
      } catch {
        /* no snippets: scored as a miss */
      }
      const rank = texts.findIndex((t) => phrases.some((p) => t.includes(p)));
      const vals = {
        phraseHit1: rank === 0 ? 1 : 0,
        phraseHit5: rank >= 0 && rank < 5 ? 1 : 0,
        fileHit5: paths.slice(0, 5).includes(item.expect.file) ? 1 : 0,
        mrr: rank >= 0 && rank < 10 ? 1 / (rank + 1) : 0,
        answerIn5k: phrases.some((p) => normalize(full).includes(p)) ? 1 : 0,
        tokens: countTokens(full),
      };
      for (const key of ['all', `lib:${item.library}`, `diff:${item.difficulty}`])
        add(q, key, vals);
      if (!vals.phraseHit5 || args.verbose)
        misses.push(
          `${vals.phraseHit5 ? 'ok  ' : 'MISS'} ${item.id} [${item.difficulty}] rank=${rank} "${item.query}" -> want ${item.expect.file} # ${item.expect.heading}; got ${paths.slice(0, 3).join(', ')}`,
        );
    } else {
      const results = await engine.resolve(item.query, undefined, { client: 'eval' });
      const want = libs[item.expect.library]!;
      const right = (id: string | undefined) => {
        const p = id ? parseLibraryId(id) : undefined;
        return !!p && p.libraryId === want.libraryId && (want.latest || p.version === want.version);
      };
      const vals = {
        hit1: right(results[0]?.id) ? 1 : 0,
        hit3: results.slice(0, 3).some((x) => right(x.id)) ? 1 : 0,
      };
      for (const key of ['all', `diff:${item.difficulty}`]) add(r, key, vals);
      if (!vals.hit1 || args.verbose)
        misses.push(
          `${vals.hit1 ? 'ok  ' : 'MISS'} ${item.id} [${item.difficulty}] "${item.query}" -> want ${want.libraryId}${want.latest ? '' : `/${want.version}`}; got ${results
            .slice(0, 3)
            .map((x) => x.id)
            .join(', ')}`,
        );
    }
  }
  await engine.close();
  await db.close();

  const f = (x: number) => x.toFixed(3);
  log('\nQuery items');
  log('key                      n   hit@1  hit@5  file@5  mrr@10  in5k   tokens');
  for (const [key, t] of [...q].sort((a, b) =>
    a[0] === 'all' ? -1 : b[0] === 'all' ? 1 : a[0].localeCompare(b[0]),
  )) {
    log(
      `${key.padEnd(22)} ${String(t.n).padStart(3)}  ${f(t.phraseHit1! / t.n)}  ${f(t.phraseHit5! / t.n)}  ${f(t.fileHit5! / t.n)}  ${f(t.mrr! / t.n)}  ${f(t.answerIn5k! / t.n)}  ${Math.round(t.tokens! / t.n)}`,
    );
  }
  log('\nResolve items');
  log('key                      n   hit@1  hit@3');
  for (const [key, t] of r)
    log(`${key.padEnd(22)} ${String(t.n).padStart(3)}  ${f(t.hit1! / t.n)}  ${f(t.hit3! / t.n)}`);
  if (misses.length) log(`\n${misses.join('\n')}`);
  const qa = q.get('all') ?? { n: 0 };
  const ra = r.get('all') ?? { n: 0 };
  const frac = (t: Tally, k: string) => (t.n ? Number(((t[k] ?? 0) / t.n).toFixed(4)) : 0);
  const summary = {
    query: {
      n: qa.n,
      phraseHit1: frac(qa, 'phraseHit1'),
      phraseHit5: frac(qa, 'phraseHit5'),
      fileHit5: frac(qa, 'fileHit5'),
      mrr: frac(qa, 'mrr'),
      answerIn5k: frac(qa, 'answerIn5k'),
      meanTokens: qa.n ? Math.round((qa.tokens ?? 0) / qa.n) : 0,
    },
    resolve: { n: ra.n, hit1: frac(ra, 'hit1'), hit3: frac(ra, 'hit3') },
  };
  if (args.json) console.log(JSON.stringify(summary));
  else log(`\n${JSON.stringify(summary)}`);
}

main().catch((err: unknown) => {
  console.error(`eval failed: ${(err as Error).message}`);
  process.exit(1);
});
