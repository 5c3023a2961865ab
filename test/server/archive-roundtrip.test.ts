/**
 * Export a corpus library (two versions) and import it into fresh stores, PGlite and PostgreSQL
 * (including PGlite -> PostgreSQL): resolve and query-docs answer the same, in the same order.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportArchive } from '../../server/archive/export.js';
import { ArchiveError, keyFingerprint } from '../../server/archive/format.js';
import { importArchive } from '../../server/archive/import.js';
import type { Db } from '../../server/db/db.js';
import { migrate } from '../../server/db/migrate.js';
import { MIGRATIONS } from '../../server/db/schema.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import type { CallContext } from '../../server/engine-types.js';
import {
  describeBackends,
  openTestPglite,
  openTestPostgres,
  selectedBackends,
  type BackendName,
} from '../helpers/backends.js';
import { requireCorpus } from '../helpers/corpus.js';

const CTX: CallContext = { client: 'cli' };
const LIB = '/colinhacks/zod';

/** Questions asked of both stores: several topics, both versions, a bare and a versioned id. */
const QUERIES: [string, string][] = [
  [LIB, 'how do I validate an email string'],
  [LIB, 'discriminated unions'],
  [LIB, 'refine with a custom error message'],
  [`${LIB}/v3`, 'parse versus safeParse'],
  [`${LIB}/v3`, 'optional and nullable'],
  [LIB, 'coerce a string to a number'],
];
const NAMES: [string, string | undefined][] = [
  ['zod', undefined],
  ['zod', 'schema validation for typescript'],
  ['zdo', undefined],
  ['colinhacks zod 3', undefined],
];

async function answers(engine: TwinEngine): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const [name, query] of NAMES) {
    // lastUpdateDate is kept by import (indexed_at travels), so whole results compare.
    out.push(await engine.resolve(name, query, CTX));
  }
  for (const [id, q] of QUERIES) {
    const outcome = await engine.query(id, q, 3000, CTX);
    out.push(outcome.text, outcome.json);
  }
  return out;
}

/**
 * Scores apart, recursively. Across back ends the tsvectors are rebuilt by another PostgreSQL
 * major (15 vs PGlite's 18, other snowball stemmer builds), so BM25 scores differ in the third
 * digit (35.845 vs 35.871) while the snippets and their order do not.
 */
function scores(value: unknown, out: number[] = []): { shape: unknown; scores: number[] } {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v).flatMap(([k, x]) => {
          if (k === 'score' && typeof x === 'number') {
            out.push(x);
            return [];
          }
          return [[k, strip(x)]];
        }),
      );
    }
    return v;
  };
  return { shape: strip(value), scores: out };
}

function assertSameAnswers(actual: unknown[], expected: unknown[], sameBackend: boolean): void {
  if (sameBackend) return assert.deepEqual(actual, expected);
  const a = scores(actual);
  const e = scores(expected);
  assert.deepEqual(a.shape, e.shape);
  a.scores.forEach((x, i) => {
    const want = e.scores[i]!;
    assert.ok(Math.abs(x - want) <= 0.02 * Math.max(1, Math.abs(want)), `score ${x} vs ${want}`);
  });
}

async function openFresh(name: BackendName): Promise<Db> {
  const db = name === 'pglite' ? await openTestPglite() : await openTestPostgres();
  await migrate(db, MIGRATIONS);
  return db;
}

describeBackends(
  'archive export/import round trip',
  ({ db, name }) => {
    let tmp: string;
    let source: TwinEngine;
    let archive: Buffer;
    let expected: unknown[];
    let vectorCount = 0;
    const key = crypto.generateKeyPairSync('ed25519').privateKey;
    const trusted = new Set([keyFingerprint(crypto.createPublicKey(key))]);

    before(async function () {
      this.timeout(300_000);
      const zod = requireCorpus(this, 'md/zod');
      const zod3 = requireCorpus(this, 'md/zod-v3');
      tmp = mkdtempSync(join(tmpdir(), 'twinmcp-archive-'));
      source = await createEngine({ config: { dataDir: join(tmp, 'src') }, db: db() });
      for (const [dir, version, latest] of [
        [zod3, 'v3', false],
        [zod, 'v4', true],
      ] as const) {
        const job = await source.addSource({
          source: dir,
          libraryId: LIB,
          version,
          latest,
          trustedLocal: true,
        });
        const done = await source.waitForJob(job.id);
        assert.equal(done.state, 'succeeded', done.error ?? '');
      }
      if (db().hasVector) {
        // Vectors as an embedding provider would have stored them (4 dimensions suffice here).
        const rows = await db().query<{ id: number; version_id: number }>(
          `SELECT c.id, c.version_id FROM chunks c JOIN library_versions v ON v.id = c.version_id
            WHERE v.library_id = $1 AND v.state = 'ready'`,
          [LIB],
        );
        for (const r of rows) {
          const vec = `[${[1, 2, 3, 4].map((k) => ((r.id * k) % 17) / 16 - 0.5).join(',')}]`;
          await db().query(
            `INSERT INTO chunk_vectors (chunk_id, version_id, model, embedding)
             VALUES ($1, $2, 'test-embed-4', $3::vector)`,
            [r.id, r.version_id, vec],
          );
        }
        await db().query(
          `INSERT INTO version_embeddings (version_id, provider, model, dimensions, vectors, cached, tokens)
           SELECT v.id, 'openai', 'test-embed-4', 4, count(c.id), 0, 100
             FROM library_versions v JOIN chunks c ON c.version_id = v.id
            WHERE v.library_id = $1 AND v.state = 'ready' GROUP BY v.id`,
          [LIB],
        );
        vectorCount = rows.length;
      }
      expected = await answers(source);
      archive = (await exportArchive(db(), LIB, key)).file;
    });

    after(async () => {
      await source?.close();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    // PGlite -> PostgreSQL (and PostgreSQL -> PGlite) as well as the same kind.
    const targets = selectedBackends();
    for (const target of targets) {
      it(`imports into a fresh ${target} store that answers exactly as the ${name} source`, async function () {
        this.timeout(300_000);
        const fresh = await openFresh(target);
        const engine = await createEngine({
          config: { dataDir: join(tmp, `dst-${target}`) },
          db: fresh,
          worker: false,
        });
        try {
          const summary = await importArchive(fresh, archive, trusted);
          assert.equal(summary.libraryId, LIB);
          assert.deepEqual(summary.versions.sort(), ['v3', 'v4']);
          assertSameAnswers(await answers(engine), expected, target === name);
          const [lib] = await engine.listLibraries();
          assert.equal(lib?.id, LIB);
          const vectors = await fresh.query<{ n: number }>(
            fresh.hasVector ? 'SELECT count(*)::int AS n FROM chunk_vectors' : 'SELECT 0 AS n',
          );
          if (fresh.hasVector && vectorCount > 0) {
            assert.equal(summary.vectors, vectorCount);
            assert.equal(vectors[0]?.n, vectorCount);
            const pair = await Promise.all(
              [db(), fresh].map((d) =>
                d.query<{ version: string; content_hash: string; embedding: string }>(
                  `SELECT v.version, c.content_hash, cv.embedding::text AS embedding FROM chunk_vectors cv
                     JOIN chunks c ON c.id = cv.chunk_id JOIN library_versions v ON v.id = cv.version_id
                    WHERE v.library_id = $1 AND v.state = 'ready' ORDER BY v.version, c.content_hash`,
                  [LIB],
                ),
              ),
            );
            assert.deepEqual(pair[1], pair[0]);
          }
        } finally {
          await engine.close();
          await fresh.close();
        }
      });
    }

    it('re-importing over the same library replaces it only after a complete import', async function () {
      this.timeout(300_000);
      const fresh = await openFresh(name);
      const engine = await createEngine({
        config: { dataDir: join(tmp, 'again') },
        db: fresh,
        worker: false,
      });
      try {
        await importArchive(fresh, archive, trusted);
        const before = await fresh.query(
          `SELECT id, version, state FROM library_versions ORDER BY id`,
        );
        // A refused archive (one byte changed near the end) writes nothing at all.
        const bad = Buffer.from(archive);
        bad[bad.length - 10]! ^= 0xff;
        await assert.rejects(importArchive(fresh, bad, trusted), ArchiveError);
        assert.deepEqual(
          await fresh.query(`SELECT id, version, state FROM library_versions ORDER BY id`),
          before,
        );
        // A second good import replaces each version: still one ready row per version.
        await importArchive(fresh, archive, trusted);
        const rows = await fresh.query<{ version: string; state: string; is_latest: boolean }>(
          `SELECT version, state, is_latest FROM library_versions ORDER BY version`,
        );
        assert.deepEqual(rows, [
          { version: 'v3', state: 'ready', is_latest: false },
          { version: 'v4', state: 'ready', is_latest: true },
        ]);
        assert.deepEqual(await answers(engine), expected);
      } finally {
        await engine.close();
        await fresh.close();
      }
    });
  },
  { setup: (db) => migrate(db, MIGRATIONS).then(() => undefined) },
);
