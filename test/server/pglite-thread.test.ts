/**
 * PGlite on a worker thread (server/db/pglite-thread.ts): the Db contract across the thread
 * boundary, transactions held open in the worker, errors, a dying worker, and the event loop
 * staying free while a statement runs. db.test.ts and engine.test.ts run over it too with
 * TWINMCP_TEST_PGLITE=thread.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Db } from '../../server/db/db.js';
import { openDatabase } from '../../server/db/open.js';
import { openPglite, pgliteTemplate } from '../../server/db/pglite.js';
import { openPgliteThread } from '../../server/db/pglite-thread.js';

let template: Promise<Blob> | undefined;
const fromTemplate = async () =>
  openPgliteThread({ loadDataDir: await (template ??= pgliteTemplate()) });

/** Longest gap between 5 ms timer ticks while `work` runs: how long the event loop was blocked. */
async function longestStall(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(longest, performance.now() - last);
}

describe('PGlite on a worker thread', function () {
  this.timeout(120_000);
  let db: Db;
  before(async () => {
    db = await fromTemplate();
  });
  after(async () => {
    await db?.close();
  });

  it('round-trips parameter and row types as in-process PGlite does', async () => {
    await db.exec(`CREATE TABLE types (
      i8 int8, n numeric, j jsonb, js jsonb, ts timestamptz, d date, arr text[], ids int8[],
      b bytea, bt text, none text)`);
    const ts = new Date('2025-03-04T05:06:07.891Z');
    const json = { a: [1, 'two', { three: null }], b: 'é"\\', c: true };
    const params = [
      2n ** 40n,
      '1.50',
      json,
      JSON.stringify({ s: 'a JSON string' }),
      ts,
      '2025-03-04',
      ['a', 'b,c', '"quoted"', '', 'NULL'],
      [1, 2, 3],
      Buffer.from([0, 1, 254, 255]),
      // A Buffer for a text column is its UTF-8 text (Buffer#toString), not "104,105".
      Buffer.from('héllo'),
      null,
    ];
    await db.query(
      'INSERT INTO types VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
      params,
    );
    const inProcess = await openPglite({ loadDataDir: await template! });
    try {
      await inProcess.exec(
        'CREATE TABLE types (i8 int8, n numeric, j jsonb, js jsonb, ts timestamptz, d date, arr text[], ids int8[], b bytea, bt text, none text)',
      );
      await inProcess.query(
        'INSERT INTO types VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
        params,
      );
      const [expected] = await inProcess.query('SELECT * FROM types');
      const rows = await db.query('SELECT * FROM types');
      assert.deepEqual(rows, [expected]);
      assert.deepEqual(rows[0], {
        i8: 2 ** 40,
        n: '1.50',
        j: json,
        js: { s: 'a JSON string' },
        ts,
        d: new Date('2025-03-04T00:00:00.000Z'),
        arr: ['a', 'b,c', '"quoted"', '', 'NULL'],
        ids: [1, 2, 3],
        b: new Uint8Array([0, 1, 254, 255]),
        bt: 'héllo',
        none: null,
      });
      assert.equal(Object.getPrototypeOf(rows), Array.prototype);
    } finally {
      await inProcess.close();
    }
  });

  it('loads the vector and pg_trgm extensions', async () => {
    await db.exec('CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS pg_trgm');
    const rows = await db.query(
      "SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector AS d, similarity('react', 'reakt') > 0 AS s",
    );
    assert.deepEqual(rows, [{ d: 1, s: true }]);
  });

  it('keeps SQLSTATE code and the other error fields', async () => {
    await db.exec('CREATE TABLE uniq (id int CONSTRAINT uniq_pk PRIMARY KEY)');
    await db.query('INSERT INTO uniq VALUES (1)');
    const err = await db.query('INSERT INTO uniq VALUES ($1)', [1]).then(
      () => assert.fail('expected a unique violation'),
      (e: unknown) => e as Error & Record<string, unknown>,
    );
    assert.ok(err instanceof Error);
    assert.equal(err.code, '23505');
    assert.equal(err.constraint, 'uniq_pk');
    assert.equal(err.table, 'uniq');
    assert.match(err.message, /duplicate key value violates unique constraint "uniq_pk"/);
    assert.match(String(err.detail), /Key \(id\)=\(1\) already exists/);
    await assert.rejects(db.exec('SELEC 1'), { code: '42601' });
  });

  it('commits, and rolls back when fn throws, leaving no transaction open', async () => {
    await db.exec('CREATE TABLE tx (id int)');
    assert.equal(
      await db.transaction(async (tx) => {
        await tx.query('INSERT INTO tx VALUES ($1)', [1]);
        await tx.exec('INSERT INTO tx VALUES (2); INSERT INTO tx VALUES (3)');
        return 'done';
      }),
      'done',
    );
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO tx VALUES ($1)', [4]);
        throw new Error('boom');
      }),
      /^Error: boom$/,
    );
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO tx VALUES ($1)', [5]);
        await tx.query('SELECT * FROM no_such_table').catch(() => undefined);
        return 'swallowed';
      }),
      { code: '42P01' },
    );
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO tx VALUES ($1)', [6]);
        // Not awaited: it fails in the worker after fn returned, so COMMIT becomes ROLLBACK.
        void tx.query('SELECT * FROM no_such_table').catch(() => undefined);
      }),
      { code: '42P01' },
    );
    // Outside any transaction again: a failed statement is not "in a failed transaction" (25P02).
    await assert.rejects(db.query('SELECT * FROM no_such_table'), { code: '42P01' });
    assert.deepEqual(await db.query('SELECT id FROM tx ORDER BY id'), [
      { id: 1 },
      { id: 2 },
      { id: 3 },
    ]);
  });

  it('runs the statements of a transaction in the order they were sent', async () => {
    await db.exec('CREATE TABLE ordered (seq serial, n int)');
    await db.transaction(async (tx) => {
      // Not awaited one by one: the worker must still run them in order, before COMMIT.
      await Promise.all(
        Array.from({ length: 40 }, (_, n) => tx.query('INSERT INTO ordered (n) VALUES ($1)', [n])),
      );
      void tx.query('INSERT INTO ordered (n) VALUES (40)');
    });
    const rows = await db.query<{ n: number }>('SELECT n FROM ordered ORDER BY seq');
    assert.deepEqual(
      rows.map((r) => r.n),
      Array.from({ length: 41 }, (_, n) => n),
    );
  });

  it('makes other statements and transactions wait until an open transaction ends', async () => {
    await db.exec('CREATE TABLE waits (id int)');
    const events: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = db.transaction(async (tx) => {
      await tx.query('INSERT INTO waits VALUES (1)');
      await held;
      await tx.query('INSERT INTO waits VALUES (2)');
      events.push('first commits');
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const outside = db.query<{ n: number }>('SELECT count(*)::int AS n FROM waits').then((rows) => {
      events.push('outside ran');
      return rows[0]!.n;
    });
    const second = db.transaction(async (tx) => {
      events.push('second began');
      await tx.query('INSERT INTO waits VALUES (3)');
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(events, [], 'nothing ran while the first transaction was open');
    release();
    await Promise.all([first, second]);
    assert.equal(await outside, 2, 'the waiting statement saw the committed rows');
    assert.equal(events[0], 'first commits');
  });

  it('keeps the event loop free while a statement runs', async () => {
    // In-process PGlite blocks the calling thread for the whole pg_sleep.
    const stall = await longestStall(() => db.query('SELECT pg_sleep(0.8)'));
    assert.ok(stall < 400, `event loop stalled ${stall.toFixed(0)} ms during an 800 ms statement`);
  });

  it('rejects a parameter structured clone cannot copy, and keeps working', async () => {
    await assert.rejects(db.query('SELECT $1::text AS t', [() => 1]), { name: 'DataCloneError' });
    assert.deepEqual(await db.query('SELECT $1::text AS t', ['ok']), [{ t: 'ok' }]);
  });
});

describe('PGlite worker thread lifecycle', function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'twinmcp-pglite-thread-'));
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('rejects pending and later calls with a clear error when the worker dies', async () => {
    const db = await fromTemplate();
    const pending = db.query('SELECT pg_sleep(5)');
    await new Promise((resolve) => setTimeout(resolve, 100));
    // What a crash looks like from the main thread: the worker exits with calls outstanding.
    await (db as unknown as { worker: Worker }).worker.terminate();
    await assert.rejects(pending, (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_PGLITE_THREAD_DEAD');
      assert.match(err.message, /^PGlite worker thread exited with code 1; .* database is closed/);
      return true;
    });
    await assert.rejects(db.query('SELECT 1'), { code: 'ERR_PGLITE_THREAD_DEAD' });
    await assert.rejects(
      db.transaction(async () => 'never'),
      { code: 'ERR_PGLITE_THREAD_DEAD' },
    );
    await db.close();
  });

  it('close() lets sent statements finish, then refuses new ones', async () => {
    const db = await fromTemplate();
    const sent = db.query<{ n: number }>('SELECT 41 + 1 AS n');
    const closed = db.close();
    assert.deepEqual(await sent, [{ n: 42 }]);
    await closed;
    await db.close();
    await assert.rejects(db.query('SELECT 1'), /database is closed/);
  });

  it('persists a file-backed store across close and reopen (also in-process)', async () => {
    const dir = tempDir();
    const db = await openDatabase({ dataDir: dir });
    // The default for a data directory is the thread: pg_sleep does not block this thread.
    const stall = await longestStall(() => db.query('SELECT pg_sleep(0.5)'));
    assert.ok(stall < 300, `event loop stalled ${stall.toFixed(0)} ms`);
    await db.exec("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('across reopen')");
    await db.close();
    const again = await openPgliteThread({ dataDir: dir });
    assert.deepEqual(await again.query('SELECT v FROM kept'), [{ v: 'across reopen' }]);
    await again.close();
    const inProcess = await openPglite({ dataDir: dir });
    assert.deepEqual(await inProcess.query('SELECT v FROM kept'), [{ v: 'across reopen' }]);
    await inProcess.close();
  });

  it('fails to open with the reason when the data directory is unusable', async () => {
    const file = join(tempDir(), 'not-a-directory');
    writeFileSync(file, 'x');
    await assert.rejects(openPgliteThread({ dataDir: file }), (err: Error) => {
      // Emscripten's file system says ENOTDIR as { name: 'ErrnoError', errno: 54 }.
      assert.equal(
        err.message,
        `PGlite could not open its database (${file}): ErrnoError {"errno":54}`,
      );
      return true;
    });
  });
});
