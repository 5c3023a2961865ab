import assert from 'node:assert/strict';
import type { Db } from '../../server/db/db.js';
import { migrate, pendingMigrations, type Migration } from '../../server/db/migrate.js';
import { openPostgres } from '../../server/db/postgres.js';
import { describeBackends, selectedBackends } from '../helpers/backends.js';
import { sharedPostgresServer } from '../helpers/pg-server.js';

// Tiny stand-ins for the schema: CREATE TABLE without IF NOT EXISTS, so applying one twice fails.
const BASE: Migration[] = [
  { version: 1, name: 'one', sql: 'CREATE TABLE m_one (id int PRIMARY KEY);' },
  { version: 2, name: 'two', sql: 'CREATE TABLE m_two (id int); INSERT INTO m_two VALUES (2);' },
];
const VECTOR: Migration = {
  version: 3,
  name: 'vectors',
  requiresExtension: 'vector',
  sql: 'CREATE TABLE m_vec (id int PRIMARY KEY, embedding vector(3));',
};
const AFTER_VECTOR: Migration = { version: 4, name: 'four', sql: 'CREATE TABLE m_four (id int);' };

describeBackends('Db', ({ db, name }) => {
  it('runs a parameterized query and returns plain row objects', async () => {
    const rows = await db().query('SELECT $1::int AS a, $2::text AS b, $3::bool AS c', [
      7,
      'x',
      true,
    ]);
    assert.deepEqual(rows, [{ a: 7, b: 'x', c: true }]);
    assert.equal(Object.getPrototypeOf(rows), Array.prototype);
  });

  it('runs a multi-statement script with exec', async () => {
    await db().exec(`
      CREATE TABLE script (id int, label text);
      INSERT INTO script VALUES (1, 'a');
      INSERT INTO script VALUES (2, 'b');
    `);
    const rows = await db().query('SELECT count(*) AS n FROM script');
    assert.deepEqual(rows, [{ n: 2 }]);
  });

  it('commits a transaction', async () => {
    await db().exec('CREATE TABLE tx_commit (id int)');
    const result = await db().transaction(async (tx) => {
      await tx.query('INSERT INTO tx_commit VALUES ($1)', [1]);
      await tx.exec('INSERT INTO tx_commit VALUES (2); INSERT INTO tx_commit VALUES (3);');
      return 'done';
    });
    assert.equal(result, 'done');
    assert.deepEqual(await db().query('SELECT id FROM tx_commit ORDER BY id'), [
      { id: 1 },
      { id: 2 },
      { id: 3 },
    ]);
  });

  it('rolls a transaction back when its function throws, and rethrows', async () => {
    await db().exec('CREATE TABLE tx_rollback (id int)');
    await assert.rejects(
      db().transaction(async (tx) => {
        await tx.query('INSERT INTO tx_rollback VALUES ($1)', [1]);
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepEqual(await db().query('SELECT id FROM tx_rollback'), []);
  });

  it('fails a transaction whose statement failed, even when fn caught the error', async () => {
    await db().exec('CREATE TABLE tx_caught (id int)');
    await assert.rejects(
      db().transaction(async (tx) => {
        await tx.query('INSERT INTO tx_caught VALUES ($1)', [1]);
        await tx.query('SELECT * FROM no_such_table').catch(() => undefined);
        return 'swallowed';
      }),
      { code: '42P01' },
    );
    assert.deepEqual(await db().query('SELECT id FROM tx_caught'), []);
  });

  it('reports SQL errors with their SQLSTATE in `code`', async () => {
    await assert.rejects(db().query('SELECT * FROM no_such_table'), { code: '42P01' });
  });

  it('returns int8, numeric, jsonb, timestamptz, date and arrays in one shape', async () => {
    await db().exec(`CREATE TABLE types (
      i8 int8, big int8, n numeric, j jsonb, ts timestamptz, d date,
      arr text[], ids int8[], none text
    )`);
    const ts = new Date('2025-03-04T05:06:07.891Z');
    const json = { a: [1, 'two', { three: null }], b: 'é"\\', c: true };
    const arr = ['a', 'b,c', '"quoted"', '', 'NULL'];
    await db().query('INSERT INTO types VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
      42,
      2n ** 40n,
      '1.50',
      json,
      ts,
      '2025-03-04',
      arr,
      [1, 2, 3],
      null,
    ]);
    const rows = await db().query('SELECT * FROM types');
    assert.deepEqual(rows, [
      {
        i8: 42,
        big: 2 ** 40,
        n: '1.50',
        j: json,
        ts,
        d: new Date('2025-03-04T00:00:00.000Z'),
        arr,
        ids: [1, 2, 3],
        none: null,
      },
    ]);
    const [counts] = await db().query(
      'SELECT count(*) AS n, sum(i8) AS s, max(ts) AS latest FROM types',
    );
    // sum(int8) is numeric in PostgreSQL, so it stays a string on both back ends.
    assert.deepEqual(counts, { n: 1, s: '42', latest: ts });
  });

  it(`migrate() applies once and is idempotent`, async () => {
    const logs: string[] = [];
    assert.deepEqual(
      (await pendingMigrations(db(), BASE)).map((m) => m.version),
      [1, 2],
    );
    assert.deepEqual(await migrate(db(), BASE, (m) => logs.push(m)), { applied: [1, 2] });
    assert.deepEqual(await migrate(db(), BASE, (m) => logs.push(m)), { applied: [] });
    assert.deepEqual(await pendingMigrations(db(), BASE), []);
    const rows = await db().query<{ version: number; name: string; applied_at: Date }>(
      'SELECT version, name, applied_at FROM schema_migrations ORDER BY version',
    );
    assert.deepEqual(
      rows.map((r) => [r.version, r.name]),
      [
        [1, 'one'],
        [2, 'two'],
      ],
    );
    assert.ok(rows[0]?.applied_at instanceof Date);
    assert.equal(logs.length, 2);
    assert.equal(db().hasVector, false, 'no vector migration in the list');
  });

  it('applies the vector migration where pgvector exists, else runs lexical-only', async () => {
    const [{ available } = { available: false }] = await db().query<{ available: boolean }>(
      "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS available",
    );
    // PGlite bundles pgvector; Debian's PostgreSQL 15 has no pgvector package.
    if (name === 'pglite') assert.equal(available, true);

    const all = [...BASE, VECTOR, AFTER_VECTOR];
    for (let start = 1; start <= 2; start++) {
      const logs: string[] = [];
      const { applied } = await migrate(db(), all, (m) => logs.push(m));
      const lexical = logs.filter((l) => l.includes('lexical-only'));
      if (available) {
        assert.deepEqual(applied, start === 1 ? [3, 4] : []);
        assert.deepEqual(lexical, []);
        assert.equal(db().hasVector, true);
      } else {
        // Skipped, never recorded, retried (and logged once) at each start; later ones still apply.
        assert.deepEqual(applied, start === 1 ? [4] : []);
        assert.equal(lexical.length, 1, logs.join('\n'));
        assert.match(lexical[0]!, /^vector extension not available on this PostgreSQL server/);
        assert.equal(db().hasVector, false);
        assert.deepEqual(
          (await pendingMigrations(db(), all)).map((m) => m.version),
          [],
          'an unavailable extension does not hold readiness back',
        );
      }
    }
    const versions = await db().query('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(
      versions.map((r) => r.version),
      available ? [1, 2, 3, 4] : [1, 2, 4],
    );
  });
});

describe('migrate() on PostgreSQL from two instances at once', function () {
  if (!selectedBackends().includes('postgres')) return;
  let a: Db | undefined;
  let b: Db | undefined;
  let url = '';

  before(async function () {
    this.timeout(120_000);
    const server = await sharedPostgresServer();
    url = await server.createDatabase();
    [a, b] = await Promise.all([openPostgres(url), openPostgres(url)]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await (await sharedPostgresServer()).dropDatabase(url);
  });

  it('applies each migration exactly once (advisory lock)', async () => {
    // pg_sleep widens the window in which an unlocked second instance would apply it too.
    const slow: Migration[] = [
      { version: 1, name: 'slow', sql: 'SELECT pg_sleep(0.3); CREATE TABLE race_one (id int);' },
      { version: 2, name: 'next', sql: 'CREATE TABLE race_two (id int);' },
    ];
    const [ra, rb] = await Promise.all([migrate(a!, slow), migrate(b!, slow)]);
    assert.deepEqual([...ra.applied, ...rb.applied].sort(), [1, 2]);
    const rows = await a!.query('SELECT count(*) AS n FROM schema_migrations');
    assert.deepEqual(rows, [{ n: 2 }]);
  });
});
