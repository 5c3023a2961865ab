/**
 * Limits with auth on: a plan's daily quota runs out with 429 + Retry-After + RateLimit-* and
 * comes back when the window passes (injected clock); hover lookups count apart; the per-key rate
 * limit; MCP over a real socket with a bad key, another account's key and an exhausted quota; and
 * two app instances on one PostgreSQL database sharing one anonymous per-IP count.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FastifyInstance } from 'fastify';
import { createAccount } from '../../server/accounts/accounts.js';
import { createApiKey } from '../../server/accounts/keys.js';
import { loadConfig } from '../../server/config.js';
import type { Db } from '../../server/db/db.js';
import { migrate } from '../../server/db/migrate.js';
import { openPostgres } from '../../server/db/postgres.js';
import { MIGRATIONS } from '../../server/db/schema.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { buildApp } from '../../server/http/app.js';
import { describeBackends, selectedBackends } from '../helpers/backends.js';
import { sharedPostgresServer } from '../helpers/pg-server.js';
import { authEnv, bearer, indexAs, testClock, writeDocs } from './accounts-helpers.js';

const DAY = 86_400_000;

describeBackends(
  'accounts limits',
  ({ db }) =>
    describe('quotas, rate limits and MCP', () => {
      let tmp: string;
      let engine: TwinEngine;
      let app: FastifyInstance;
      let base: string;
      const clock = testClock();
      const keys: Record<'a' | 'b' | 'tiny' | 'burst', string> = {
        a: '',
        b: '',
        tiny: '',
        burst: '',
      };

      before(async function () {
        this.timeout(120_000);
        tmp = mkdtempSync(join(tmpdir(), 'twinmcp-acct-limits-'));
        engine = await createEngine({
          config: { dataDir: join(tmp, 'data') },
          db: db(),
          worker: true,
        });
        for (const [name, plan] of [
          ['a', 'free'],
          ['b', 'free'],
          ['tiny', 'tiny'],
          ['burst', 'burst'],
        ] as const) {
          const acct = await createAccount(db(), { email: `${name}@example.com`, plan });
          keys[name] = (await createApiKey(db(), acct.id, { name })).key;
          if (name === 'a') {
            writeDocs(join(tmp, 'secret'), 'Quokkaflow', 'telemetry');
            await indexAs(engine, join(tmp, 'secret'), '/acme/quokkaflow', 'Quokkaflow', acct.id);
          }
        }
        app = await buildApp({
          engine,
          config: loadConfig(authEnv(tmp)),
          clock: clock.now,
          boundHost: '127.0.0.1',
        });
        await app.listen({ port: 0, host: '127.0.0.1' });
        const address = app.server.address();
        assert.ok(address && typeof address === 'object');
        base = `http://127.0.0.1:${address.port}`;
      });
      after(async () => {
        await app?.close();
        await engine?.close();
        if (tmp) rmSync(tmp, { recursive: true, force: true });
      });

      // The app listens (MCP needs a socket), so the Host check wants its real port.
      const get = (url: string, headers: Record<string, string>) =>
        app.inject({ url, headers: { host: new URL(base).host, ...headers } });
      const search = (key: string, extra: Record<string, string> = {}) =>
        get('/api/v1/libs/search?libraryName=quokkaflow', { ...bearer(key), ...extra });

      async function mcpClient(headers: Record<string, string>): Promise<Client> {
        const client = new Client({ name: 'accounts-test', version: '1.0.0' });
        await client.connect(
          new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers } }),
        );
        return client;
      }

      it('runs out of the daily query quota with 429 and the headers, and serves again the next day', async () => {
        for (let i = 0; i < 3; i++) assert.equal((await search(keys.tiny)).statusCode, 200);
        const refused = await search(keys.tiny);
        assert.equal(refused.statusCode, 429);
        assert.equal(refused.json().error, 'rate_limit_exceeded');
        assert.match(
          refused.json().message,
          /quota of 3 documentation queries for the tiny plan .*resets at/,
        );
        const retryAfter = Number(refused.headers['retry-after']);
        assert.ok(retryAfter > 0 && retryAfter <= DAY / 1000, `Retry-After ${retryAfter}`);
        assert.equal(refused.headers['ratelimit-limit'], '3');
        assert.equal(refused.headers['ratelimit-remaining'], '0');
        assert.equal(refused.headers['ratelimit-reset'], String(retryAfter));
        const usage = (await get('/api/v1/account/usage', bearer(keys.tiny))).json();
        assert.deepEqual(
          usage.quotas.find((q: { quota: string }) => q.quota === 'queries'),
          {
            quota: 'queries',
            used: 3,
            limit: 3,
            resetsAt: new Date(Math.floor(clock.now() / DAY) * DAY + DAY).toISOString(),
          },
        );
        // Hover lookups have their own allowance (2), untouched by the queries above.
        const hover = { 'x-twinmcp-client': 'hover' };
        assert.equal((await search(keys.tiny, hover)).statusCode, 200);
        assert.equal((await search(keys.tiny, hover)).statusCode, 200);
        const hoverRefused = await search(keys.tiny, hover);
        assert.equal(hoverRefused.statusCode, 429);
        assert.match(hoverRefused.json().message, /hover lookups/);

        // Over MCP the same quota answers 429 with a JSON-RPC error saying when to retry.
        const client = await mcpClient(bearer(keys.tiny));
        try {
          assert.ok((await client.listTools()).tools.length >= 2, 'listing tools is not a query');
          await assert.rejects(
            client.callTool({
              name: 'resolve-library-id',
              arguments: { libraryName: 'quokkaflow', query: 'x' },
            }),
            (err: Error & { code?: number }) =>
              err.code === 429 && /retry in/.test(err.message) && /"jsonrpc"/.test(err.message),
          );
        } finally {
          await client.close();
        }

        clock.advance(retryAfter * 1000);
        assert.equal((await search(keys.tiny)).statusCode, 200, 'the next day serves again');
        assert.equal((await search(keys.tiny, hover)).statusCode, 200);
      });

      it('rate-limits each key per window with RateLimit-* headers, and lets it through after', async () => {
        const res = [];
        for (let i = 0; i < 5; i++) res.push(await get('/api/v1/libs', bearer(keys.burst)));
        assert.deepEqual(
          res.map((r) => r.statusCode),
          [200, 200, 200, 200, 200],
        );
        assert.deepEqual(
          res.map((r) => r.headers['ratelimit-remaining']),
          ['4', '3', '2', '1', '0'],
        );
        assert.equal(res[0]?.headers['ratelimit-limit'], '5');
        const refused = await get('/api/v1/libs', bearer(keys.burst));
        assert.equal(refused.statusCode, 429);
        const wait = Number(refused.headers['retry-after']);
        assert.ok(wait >= 1 && wait <= 60, `Retry-After ${wait}`);
        assert.match(refused.json().message, new RegExp(`retry in ${wait} s`));
        assert.equal(
          (await get('/api/v1/libs', bearer(keys.a))).statusCode,
          200,
          'other keys unaffected',
        );
        clock.advance(wait * 1000);
        assert.equal((await get('/api/v1/libs', bearer(keys.burst))).statusCode, 200);
      });

      it('answers MCP with a bad key by HTTP 401 and a message saying how to get a key', async () => {
        for (const headers of [bearer('tmcp_' + 'A'.repeat(43)), { 'x-api-key': 'tmcp_nope' }]) {
          await assert.rejects(mcpClient(headers), (err: Error & { code?: number }) => {
            assert.equal(err.code, 401);
            assert.match(err.message, /API key is not valid/);
            assert.match(err.message, /twinmcp keys create/);
            return true;
          });
        }
      });

      it('keeps another account’s private library out of MCP tools and the library resource', async () => {
        const b = await mcpClient(bearer(keys.b));
        const a = await mcpClient(bearer(keys.a));
        try {
          const args = { libraryName: 'quokkaflow', query: 'retry telemetry' };
          const text = (r: unknown) => JSON.stringify((r as { content: unknown }).content);
          assert.ok(
            !text(await b.callTool({ name: 'resolve-library-id', arguments: args })).includes(
              '/acme/quokkaflow',
            ),
          );
          assert.match(
            text(await a.callTool({ name: 'resolve-library-id', arguments: args })),
            /\/acme\/quokkaflow/,
          );
          const denied = await b.callTool({
            name: 'query-docs',
            arguments: { libraryId: '/acme/quokkaflow', query: 'retry' },
          });
          assert.equal(denied.isError, true);
          assert.match(text(denied), /not indexed/);
          const resource = await b.listResources();
          const uri = resource.resources[0]?.uri;
          assert.ok(uri);
          assert.ok(!JSON.stringify(await b.readResource({ uri })).includes('quokkaflow'));
          assert.ok(JSON.stringify(await a.readResource({ uri })).includes('quokkaflow'));
        } finally {
          await a.close();
          await b.close();
        }
      });
    }),
  { setup: (d) => migrate(d, MIGRATIONS).then(() => {}) },
);

(selectedBackends().includes('postgres') ? describe : describe.skip)(
  'two app instances on one PostgreSQL database',
  function () {
    this.timeout(120_000);
    const dbs: Db[] = [];
    const engines: TwinEngine[] = [];
    const apps: FastifyInstance[] = [];
    let tmp: string;
    let url: string;

    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'twinmcp-acct-shared-'));
      const server = await sharedPostgresServer();
      url = await server.createDatabase();
      const clock = testClock();
      for (let i = 0; i < 2; i++) {
        const db = await openPostgres(url);
        dbs.push(db);
        const engine = await createEngine({
          config: { dataDir: join(tmp, 'data') },
          db,
          worker: false,
        });
        engines.push(engine);
        // Behind a proxy: the client address comes from X-Forwarded-For.
        const config = loadConfig(authEnv(tmp, { TWINMCP_TRUST_PROXY: 'true' }));
        config.accounts!.plans.anonymous!.requestsPerWindow = 4;
        apps.push(await buildApp({ engine, config, clock: clock.now }));
      }
    });
    after(async () => {
      for (const app of apps) await app.close();
      for (const engine of engines) await engine.close();
      for (const db of dbs) await db.close();
      if (url) await (await sharedPostgresServer()).dropDatabase(url);
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    it('shares one per-IP count across both, and keeps other addresses apart', async () => {
      const from = (ip: string) => ({ 'x-forwarded-for': ip });
      const codes = [];
      for (let i = 0; i < 5; i++) {
        const res = await apps[i % 2]!.inject({
          url: '/api/v1/libs',
          headers: from('203.0.113.7'),
        });
        codes.push(res.statusCode);
        if (i === 4) assert.equal(res.headers['retry-after'] !== undefined, true);
      }
      assert.deepEqual(
        codes,
        [200, 200, 200, 200, 429],
        'the fifth request, on either instance, is over 4',
      );
      const other = await apps[1]!.inject({ url: '/api/v1/libs', headers: from('198.51.100.2') });
      assert.equal(other.statusCode, 200);
      assert.equal(other.headers['ratelimit-remaining'], '3');
    });
  },
);
