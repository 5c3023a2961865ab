/**
 * Privacy with auth on: usage events past the retention period are purged (on demand, and by the
 * start-up run of the daily job); IP addresses are never stored raw (rate-limit and quota counters
 * hold an HMAC of them, keyed by the configured secret or a pepper kept in the database); and an
 * account that opts out of query text has none stored, past events included, so the operator's
 * zero-result list shows nothing of it.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createAccount } from '../../server/accounts/accounts.js';
import { createApiKey } from '../../server/accounts/keys.js';
import { ipHasher, purgeUsageEvents, startRetention } from '../../server/accounts/privacy.js';
import { recordChatUsage } from '../../server/chat/usage.js';
import { ConfigError, loadConfig } from '../../server/config.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { buildApp } from '../../server/http/app.js';
import { describeBackends } from '../helpers/backends.js';
import { authEnv, bearer, testClock } from './accounts-helpers.js';

const DAY = 86_400_000;
const SECRET = 'test-ip-hash-secret-0123456789';

describeBackends('privacy', ({ db }) =>
  describe('retention, hashed addresses, query-text opt-out', () => {
    let tmp: string;
    let engine: TwinEngine;
    let app: FastifyInstance;
    const clock = testClock();
    const keys = { quiet: '', open: '', admin: '' };
    const ids = { quiet: '', open: '' };

    before(async function () {
      this.timeout(120_000);
      tmp = mkdtempSync(join(tmpdir(), 'twinmcp-privacy-'));
      engine = await createEngine({
        config: { dataDir: join(tmp, 'data') },
        db: db(),
        worker: true,
      });
      for (const name of ['quiet', 'open'] as const) {
        const acct = await createAccount(db(), { email: `${name}@example.com` });
        ids[name] = acct.id;
        keys[name] = (await createApiKey(db(), acct.id, { name })).key;
      }
      const admin = await createAccount(db(), { email: 'ops@example.com', isAdmin: true });
      keys.admin = (await createApiKey(db(), admin.id, { name: 'ops', admin: true })).key;
      app = await buildApp({
        engine,
        config: loadConfig(authEnv(tmp, { TWINMCP_IP_HASH_SECRET: SECRET })),
        clock: clock.now,
      });
    });
    after(async () => {
      await app?.close();
      await engine?.close();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    const inject = (method: 'GET' | 'PATCH', url: string, key?: string, payload?: unknown) =>
      app.inject({
        method,
        url,
        headers: key ? bearer(key) : {},
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
    const eventsOf = async (owner: string) =>
      db().query<{ query: string | null; kind: string }>(
        'SELECT query, kind FROM usage_events WHERE owner_account = $1 ORDER BY id',
        [owner],
      );

    it('purges usage events older than the retention period, at start and on demand', async () => {
      const now = Date.now();
      for (const age of [200, 91, 89, 1]) {
        await db().query(
          `INSERT INTO usage_events (at, client, kind, query, latency_ms) VALUES ($1, 'rest', 'query', $2, 1)`,
          [new Date(now - age * DAY).toISOString(), `age ${age}`],
        );
      }
      const ages = async () =>
        (
          await db().query<{ query: string }>(
            `SELECT query FROM usage_events WHERE query LIKE 'age %' ORDER BY at`,
          )
        ).map((r) => r.query);
      assert.equal(await purgeUsageEvents(db(), now, 0), 0, '0 days keeps everything');
      assert.equal((await ages()).length, 4);
      // The daily job's first run happens at start; stop() waits for it.
      const logged: string[] = [];
      const job = startRetention(
        db(),
        90,
        (m) => logged.push(m),
        () => now,
      );
      await job.stop();
      assert.deepEqual(await ages(), ['age 89', 'age 1']);
      assert.match(logged.join('\n'), /deleted 2 events older than 90 days/);
      assert.equal(await purgeUsageEvents(db(), now + 10 * DAY, 90), 1);
      assert.deepEqual(await ages(), ['age 1']);

      assert.equal(loadConfig(authEnv(tmp)).privacy?.usageRetentionDays, 90);
      assert.equal(
        loadConfig(authEnv(tmp, { TWINMCP_USAGE_RETENTION_DAYS: '30' })).privacy
          ?.usageRetentionDays,
        30,
      );
      assert.throws(
        () => loadConfig(authEnv(tmp, { TWINMCP_USAGE_RETENTION_DAYS: 'forever' })),
        (err: Error) =>
          err instanceof ConfigError && /TWINMCP_USAGE_RETENTION_DAYS/.test(err.message),
      );
      assert.throws(
        () => loadConfig(authEnv(tmp, { TWINMCP_IP_HASH_SECRET: 'short' })),
        /TWINMCP_IP_HASH_SECRET: must be at least 16 characters/,
      );
    });

    it('stores no raw IP address: counters hold its keyed hash', async () => {
      for (let i = 0; i < 2; i++) {
        const res = await inject('GET', '/api/v1/libs/search?libraryName=zzzanon');
        assert.equal(res.statusCode, 200, res.body);
      }
      const rows = await db().query<{ key: string; count: string | number }>(
        'SELECT key, count FROM rate_buckets ORDER BY key',
      );
      const ip = '127.0.0.1';
      assert.ok(rows.length > 0);
      for (const r of rows) assert.ok(!r.key.includes(ip), `raw address in ${r.key}`);
      const hash = createHmac('sha256', SECRET).update(ip).digest('base64url').slice(0, 22);
      const byKey = new Map(rows.map((r) => [r.key, Number(r.count)]));
      assert.equal(byKey.get(`rl:ip:${hash}`), 2);
      assert.equal(byKey.get(`q:queries:ip:${hash}`), 2);
      // usage_events has no address column at all.
      const columns = await db().query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'usage_events'`,
      );
      assert.ok(!columns.some((c) => /ip|addr/i.test(c.column_name)));

      // Without a configured secret, one pepper is generated and shared through the database.
      const a = await ipHasher(db());
      const b = await ipHasher(db());
      assert.equal(a(ip), b(ip));
      assert.notEqual(a(ip), hash);
      assert.notEqual(a(ip), a('127.0.0.2'));
      assert.match(a(ip), /^[A-Za-z0-9_-]{22}$/);
    });

    it('keeps no query text for an account that opts out, past events included', async () => {
      const search = (key: string, name: string) =>
        inject('GET', `/api/v1/libs/search?libraryName=${name}`, key);
      assert.equal((await search(keys.quiet, 'zzzbefore')).statusCode, 200);
      await engine.usage.flush();
      assert.deepEqual(
        (await eventsOf(ids.quiet)).map((e) => e.query),
        ['zzzbefore'],
      );
      assert.deepEqual((await inject('GET', '/api/v1/account/settings', keys.quiet)).json(), {
        keepQueryText: true,
      });

      const patched = await inject('PATCH', '/api/v1/account/settings', keys.quiet, {
        keepQueryText: false,
      });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.deepEqual(patched.json(), { keepQueryText: false });
      assert.deepEqual((await inject('GET', '/api/v1/account/settings', keys.quiet)).json(), {
        keepQueryText: false,
      });
      assert.deepEqual(
        (await eventsOf(ids.quiet)).map((e) => e.query),
        [null],
        'past text cleared',
      );

      assert.equal((await search(keys.quiet, 'zzzsecretproject')).statusCode, 200);
      assert.equal((await search(keys.open, 'zzzpublicthing')).statusCode, 200);
      await engine.usage.flush();
      // Every writer obeys it: chat questions too.
      await recordChatUsage(db(), {
        owner: ids.quiet,
        libraryId: null,
        question: 'my secret chat question',
        usage: { provider: 'none', model: 'none', inputTokens: 0, outputTokens: 0, latencyMs: 1 },
        sources: 0,
        outcome: 'complete',
        conversationId: null,
      });
      const quiet = await eventsOf(ids.quiet);
      assert.equal(quiet.length, 3);
      assert.ok(
        quiet.every((e) => e.query === null),
        JSON.stringify(quiet),
      );
      assert.deepEqual(
        (await eventsOf(ids.open)).map((e) => e.query),
        ['zzzpublicthing'],
      );

      const analytics = (await inject('GET', '/api/v1/admin/analytics', keys.admin)).json();
      const zero = analytics.zeroResultQueries.map((q: { query: string }) => q.query);
      assert.ok(zero.includes('zzzpublicthing'), JSON.stringify(zero));
      assert.ok(!zero.some((q: string) => /zzzsecret|zzzbefore|secret chat/.test(q)));

      // Opting back in keeps text from then on.
      await inject('PATCH', '/api/v1/account/settings', keys.quiet, { keepQueryText: true });
      assert.equal((await search(keys.quiet, 'zzzagain')).statusCode, 200);
      await engine.usage.flush();
      assert.equal((await eventsOf(ids.quiet)).at(-1)?.query, 'zzzagain');
    });

    it('answers bad settings bodies and missing keys with clear errors', async () => {
      const bad = await inject('PATCH', '/api/v1/account/settings', keys.quiet, {
        keepQueryText: 'no',
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error, 'validation_error');
      const extra = await inject('PATCH', '/api/v1/account/settings', keys.quiet, {
        keepQueryText: false,
        other: 1,
      });
      assert.equal(extra.statusCode, 400);
      const anonymous = await inject('PATCH', '/api/v1/account/settings', undefined, {
        keepQueryText: false,
      });
      assert.equal(anonymous.statusCode, 401);
      assert.equal(anonymous.json().error, 'invalid_api_key');
    });
  }),
);
