/**
 * The upgrade path from a store made by the previous PGlite line (0.4.x, PostgreSQL 17, installed
 * as `pglite-prev`) to the current one (0.5.x, PostgreSQL 18), whose data directories the new
 * line cannot open: export with the old store, new store, import. Same answers before and after.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite as PreviousPGlite, types } from 'pglite-prev';
import { btree_gin } from 'pglite-prev/contrib/btree_gin';
import { pg_trgm } from 'pglite-prev/contrib/pg_trgm';
import { vector } from 'pglite-prev/vector';
import { exportArchive } from '../../server/archive/export.js';
import { keyFingerprint } from '../../server/archive/format.js';
import { importArchive } from '../../server/archive/import.js';
import type { Db, Queryable } from '../../server/db/db.js';
import { migrate } from '../../server/db/migrate.js';
import { openPglite } from '../../server/db/pglite.js';
import { MIGRATIONS } from '../../server/db/schema.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import type { CallContext } from '../../server/engine-types.js';
import { requireCorpus } from '../helpers/corpus.js';

const CTX: CallContext = { client: 'cli' };
const LIB = '/colinhacks/zod';

/**
 * Our Db interface over the previous PGlite line: the same settings and row parsers as
 * server/db/pglite.ts, and its rule that a failed statement fails the whole transaction.
 */
async function openPreviousPglite(dataDir: string): Promise<Db> {
  const pg = await PreviousPGlite.create({
    dataDir,
    extensions: { vector, pg_trgm, btree_gin },
    parsers: { [types.INT8]: (value: string) => Number(value) },
  });
  const wrap = (target: Pick<PreviousPGlite, 'query' | 'exec'>): Queryable => ({
    async query<T>(sql: string, params: readonly unknown[] = []) {
      return (await target.query<T>(sql, [...params])).rows;
    },
    async exec(sql: string) {
      await target.exec(sql);
    },
  });
  return {
    dialect: 'pglite',
    hasVector: false,
    ...wrap(pg),
    transaction: (fn) =>
      pg.transaction(async (tx) => {
        let failure: { error: unknown } | undefined;
        const inner = wrap(tx);
        const remember = <R>(p: Promise<R>) =>
          p.catch((error: unknown) => {
            failure ??= { error };
            throw error;
          });
        const result = await fn({
          query: (sql, params) => remember(inner.query(sql, params)),
          exec: (sql) => remember(inner.exec(sql)),
        });
        if (failure) throw failure.error;
        return result;
      }),
    async close() {
      if (!pg.closed) await pg.close();
    },
  };
}

async function answers(engine: TwinEngine): Promise<unknown[]> {
  return [
    await engine.resolve('zod', undefined, CTX),
    await engine.resolve('zod', 'schema validation', CTX),
    (await engine.query(LIB, 'parse versus safeParse', 3000, CTX)).text,
    (await engine.query(LIB, 'optional and nullable fields', 3000, CTX)).json,
    (await engine.query(LIB, 'custom error messages', 3000, CTX)).text,
  ];
}

describe('upgrade from the previous PGlite line (pglite-prev 0.4) by export and import', function () {
  // A cold PGlite 0.4 initdb took ~30 s on this 2-core machine under load.
  this.timeout(600_000);
  let tmp: string;
  const key = crypto.generateKeyPairSync('ed25519').privateKey;
  const trusted = new Set([keyFingerprint(crypto.createPublicKey(key))]);

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-upgrade-'));
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('indexes on the old store, cannot open it with the new PGlite, and answers the same after export + import', async function () {
    const zod3 = requireCorpus(this, 'md/zod-v3');
    const oldDir = join(tmp, 'old-store');

    // 1. A store made by the previous line: our migrations and our indexing pipeline on it.
    const oldDb = await openPreviousPglite(oldDir);
    const [{ version } = { version: '' }] = await oldDb.query<{ version: string }>(
      'SELECT version()',
    );
    assert.match(version, /^PostgreSQL 17\./);
    let expected: unknown[];
    {
      const engine = await createEngine({ config: { dataDir: join(tmp, 'e1') }, db: oldDb });
      try {
        const job = await engine.addSource({ source: zod3, libraryId: LIB, trustedLocal: true });
        const done = await engine.waitForJob(job.id);
        assert.equal(done.state, 'succeeded', done.error ?? '');
        expected = await answers(engine);
      } finally {
        await engine.close();
        await oldDb.close();
      }
    }

    // 2. The new line refuses that directory (on a copy: a failed open must not touch the original).
    const probe = join(tmp, 'probe');
    cpSync(oldDir, probe, { recursive: true });
    await assert.rejects(openPglite({ dataDir: probe }));

    // 3. Export with the old store, reopened as the old release would.
    const reopened = await openPreviousPglite(oldDir);
    let archive: Buffer;
    try {
      await migrate(reopened, MIGRATIONS);
      archive = (await exportArchive(reopened, LIB, key)).file;
    } finally {
      await reopened.close();
    }

    // 4. A new store on the current line; import; same answers.
    const newDb = await openPglite({ dataDir: join(tmp, 'new-store') });
    const engine = await createEngine({
      config: { dataDir: join(tmp, 'e2') },
      db: newDb,
      worker: false,
    });
    try {
      const [{ version: v2 } = { version: '' }] = await newDb.query<{ version: string }>(
        'SELECT version()',
      );
      assert.match(v2, /^PostgreSQL 18\./);
      const summary = await importArchive(newDb, archive, trusted);
      assert.equal(summary.libraryId, LIB);
      assert.deepEqual(await answers(engine), expected);
    } finally {
      await engine.close();
      await newDb.close();
    }
  });
});
