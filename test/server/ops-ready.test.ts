import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../server/config.js';
import { migrate } from '../../server/db/migrate.js';
import { MIGRATIONS } from '../../server/db/schema.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { buildApp } from '../../server/http/app.js';
import { createDatabase, startStoppablePostgres, type StoppablePostgres } from './ops-helpers.js';

describe('operations: /ready against a PostgreSQL server that goes away', function () {
  this.timeout(300_000);
  let tmp: string;
  let pg: StoppablePostgres;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-ops-ready-'));
    pg = await startStoppablePostgres();
  });
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await pg?.destroy();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function appOn(
    name: string,
    opts: { migrate?: boolean } = {},
  ): Promise<{ app: FastifyInstance; engine: TwinEngine }> {
    const url = await createDatabase(pg.base, name);
    const env = {
      TWINMCP_DATA_DIR: join(tmp, name),
      DATABASE_URL: url,
      TWINMCP_LOG_LEVEL: 'silent',
      TWINMCP_READY_TIMEOUT_MS: '1500',
    };
    const config = loadConfig(env);
    const engine = await createEngine({ config, worker: false, ...opts });
    const app = await buildApp({ engine, config });
    closers.push(
      () => engine.close(),
      () => app.close(),
    );
    return { app, engine };
  }

  async function until(app: FastifyInstance, status: number, withinMs: number) {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const res = await app.inject('/ready');
      if (res.statusCode === status) return res;
      if (Date.now() > deadline) assert.fail(`/ready stayed ${res.statusCode}: ${res.body}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it('is 503 while the server is down and 200 again once it is back, without a restart', async () => {
    const { app } = await appOn('ready_flip');
    const up = await app.inject('/ready');
    assert.equal(up.statusCode, 200, up.body);
    assert.deepEqual(up.json(), { ready: true });

    await pg.stop();
    const down = await until(app, 503, 10_000);
    assert.equal(down.json().ready, false);
    assert.match(down.json().reason, /^database unreachable: /);
    // Liveness stays 200 through the outage (a restart would not bring the database back).
    const alive = await app.inject('/health');
    assert.equal(alive.statusCode, 200, alive.body);
    assert.equal(alive.json().libraries, null);

    await pg.start();
    // postgres.js opens new connections on the next query; no app restart, no new pool.
    const back = await until(app, 200, 30_000);
    assert.deepEqual(back.json(), { ready: true });
  });

  it('is 503 while migrations are pending (serve --no-migrate) and 200 once applied', async () => {
    const { app, engine } = await appOn('ready_pending', { migrate: false });
    const pending = await app.inject('/ready');
    assert.equal(pending.statusCode, 503, pending.body);
    const latest = Math.max(...MIGRATIONS.map((m) => m.version));
    assert.match(pending.json().reason, new RegExp(`^migrations pending: 1, .*\\b${latest}\\b`));

    // What `twinmcp migrate`, run by another process, does to the same database.
    await migrate(engine.db, MIGRATIONS);
    const ready = await app.inject('/ready');
    assert.equal(ready.statusCode, 200, ready.body);
  });
});
