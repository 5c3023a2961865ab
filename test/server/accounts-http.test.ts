/**
 * Auth on, over HTTP: every registered route refuses a missing or bad key where it holds private
 * data (walked from the auth plugin's route list), a second account cannot read the first one's
 * private library, jobs, usage or keys, and the account, key and admin endpoints work.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { createAccount } from '../../server/accounts/accounts.js';
import { createApiKey, type CreatedApiKey } from '../../server/accounts/keys.js';
import { appendMessage, createConversation } from '../../server/chat/conversations.js';
import { loadConfig } from '../../server/config.js';
import { migrate } from '../../server/db/migrate.js';
import { MIGRATIONS } from '../../server/db/schema.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { buildApp } from '../../server/http/app.js';
import type { RoutePolicy } from '../../server/http/auth.js';
import { describeBackends } from '../helpers/backends.js';
import { authEnv, bearer, indexAs, testClock, writeDocs } from './accounts-helpers.js';

const ADMIN_TOKEN = 'local-admin-token-for-tests';
const SECRET_ID = '/acme/quokkaflow';

describeBackends(
  'accounts over HTTP (auth on)',
  ({ db }) =>
    describe('with two accounts, an operator and a private library', () => {
      let tmp: string;
      let engine: TwinEngine;
      let app: FastifyInstance;
      let denyApp: FastifyInstance;
      let keyA: CreatedApiKey;
      let keyB: CreatedApiKey;
      let adminKey: CreatedApiKey;
      let jobA: string;
      let conversationA: string;
      const clock = testClock();

      before(async function () {
        this.timeout(120_000);
        tmp = mkdtempSync(join(tmpdir(), 'twinmcp-acct-http-'));
        engine = await createEngine({
          config: { dataDir: join(tmp, 'data') },
          db: db(),
          worker: true,
        });
        const a = await createAccount(db(), { email: 'alice@example.com' });
        const b = await createAccount(db(), { email: 'bob@example.com' });
        const ops = await createAccount(db(), { email: 'ops@example.com', isAdmin: true });
        keyA = await createApiKey(db(), a.id, { name: 'alice laptop' });
        keyB = await createApiKey(db(), b.id, { name: 'bob laptop' });
        adminKey = await createApiKey(db(), ops.id, { name: 'ops', admin: true });
        writeDocs(join(tmp, 'secret'), 'Quokkaflow', 'telemetry');
        writeDocs(join(tmp, 'public'), 'Wombatkit', 'caching');
        jobA = await indexAs(engine, join(tmp, 'secret'), SECRET_ID, 'Quokkaflow', a.id);
        await indexAs(engine, join(tmp, 'public'), '/oss/wombatkit', 'Wombatkit', null);
        conversationA = await createConversation(db(), a.id, 'Quokkaflow telemetry plans');
        await appendMessage(db(), a.id, conversationA, {
          role: 'user',
          text: 'How does Quokkaflow send telemetry?',
        });
        const build = (extra: Record<string, string>) =>
          buildApp({
            engine,
            config: loadConfig(authEnv(tmp, extra)),
            adminToken: ADMIN_TOKEN,
            clock: clock.now,
          });
        app = await build({});
        denyApp = await build({ TWINMCP_ANONYMOUS: 'deny' });
      });
      after(async () => {
        await app?.close();
        await denyApp?.close();
        await engine?.close();
        if (tmp) rmSync(tmp, { recursive: true, force: true });
      });

      // What only the database knows: the title (ids are echoed back from the request itself).
      const secrets = () => ['Quokkaflow', 'telemetry', 'alice@example.com', keyA.prefix];

      /** A request for a registered route, with A's ids in its parameters so a leak would show. */
      function requestFor(method: string, url: string): InjectOptions {
        let path = url
          .replace(
            /:id\b/,
            url.includes('jobs') ? jobA : url.includes('conversations') ? conversationA : keyA.id,
          )
          .replace(/:[A-Za-z_]+/g, 'x')
          .replace(/\*/g, 'x');
        if (path === '/api/v1/context') path += `?libraryId=${SECRET_ID}&query=retry`;
        if (path === '/api/v1/libs/search') path += '?libraryName=quokkaflow&query=telemetry';
        if (path === '/api/v1/libs' && method === 'DELETE') path += `?libraryId=${SECRET_ID}`;
        const body = ['POST', 'PUT', 'PATCH'].includes(method);
        return {
          method: method as InjectOptions['method'],
          url: path,
          ...(body ? { payload: {}, headers: { 'content-type': 'application/json' } } : {}),
        };
      }

      function walk(target: () => FastifyInstance) {
        return target().routePolicies.filter((r) => r.method !== 'HEAD');
      }
      // Routes open by design (health, sign-in pages, the Stripe webhook) check for themselves;
      // they are still walked, and must not show private data either.
      const guarded = (r: RoutePolicy) => r.url !== '/health' && r.auth !== 'none';

      it('walks every registered route: a bad key gets 401 everywhere, nothing private leaks', async () => {
        const routes = walk(() => app);
        assert.ok(routes.length >= 10, `expected the app's routes, got ${routes.length}`);
        for (const url of [
          '/mcp',
          '/api/v1/account/usage',
          '/api/v1/account/settings',
          '/api/v1/admin/usage',
          '/api/v1/admin/analytics',
          '/api/v1/admin/analytics/charts',
          '/api/v1/chat',
          '/api/v1/conversations',
          '/api/v1/conversations/:id',
          '/api/v1/conversations/:id/export',
        ]) {
          assert.ok(
            routes.some((r) => r.url === url),
            `${url} is not among the walked routes`,
          );
        }
        for (const r of routes) {
          for (const headers of [bearer('tmcp_' + 'x'.repeat(43)), { 'x-api-key': 'not-a-key' }]) {
            const req = requestFor(r.method, r.url);
            const res = await app.inject({ ...req, headers: { ...req.headers, ...headers } });
            if (guarded(r)) {
              assert.equal(
                res.statusCode,
                401,
                `${r.method} ${r.url} with a bad key: ${res.statusCode} ${res.body}`,
              );
              assert.match(res.body, /API key/);
            }
            for (const s of secrets())
              assert.ok(!res.body.includes(s), `${r.method} ${r.url} leaks ${s}`);
          }
        }
        // Revoke nothing: A's key must still be there after DELETE /account/keys/:id with bad keys.
        assert.equal(
          (await app.inject({ url: '/api/v1/account', headers: bearer(keyA.key) })).statusCode,
          200,
        );
      });

      it('walks every route without a key: account routes 401, open routes show public data only', async () => {
        for (const r of walk(() => app)) {
          const res = await app.inject(requestFor(r.method, r.url));
          // Chat and conversations refuse anonymous callers themselves (they have no policy).
          const privateRoute =
            r.auth === 'account' ||
            r.auth === 'admin' ||
            /^\/api\/v1\/(account|admin|conversations|chat)\b/.test(r.url);
          if (privateRoute) {
            assert.equal(
              res.statusCode,
              401,
              `${r.method} ${r.url} without a key: ${res.statusCode}`,
            );
          }
          for (const s of secrets())
            assert.ok(!res.body.includes(s), `${r.method} ${r.url} leaks ${s}: ${res.body}`);
        }
        for (const r of walk(() => denyApp).filter(guarded)) {
          const res = await denyApp.inject(requestFor(r.method, r.url));
          assert.equal(
            res.statusCode,
            401,
            `${r.method} ${r.url} with TWINMCP_ANONYMOUS=deny: ${res.statusCode}`,
          );
        }
        assert.ok(
          await engine.listLibraries().then((ls) => ls.some((l) => l.id === SECRET_ID)),
          'still there',
        );
        const health = await denyApp.inject({ url: '/health' });
        assert.equal(health.statusCode, 200, 'health stays open');
      });

      it('keeps the first account’s library, job, usage and keys from a second account', async () => {
        const asA = bearer(keyA.key);
        const asB = bearer(keyB.key);
        const query = `/api/v1/context?libraryId=${SECRET_ID}&query=retry%20telemetry`;
        assert.equal((await app.inject({ url: query, headers: asA })).statusCode, 200);
        const bQuery = await app.inject({ url: query, headers: asB });
        assert.equal(bQuery.statusCode, 404);
        assert.equal(bQuery.json().error, 'library_not_found');
        const bList = await app.inject({ url: '/api/v1/libs', headers: asB });
        assert.deepEqual(
          bList.json().libraries.map((l: { id: string }) => l.id),
          ['/oss/wombatkit'],
        );
        const aList = await app.inject({ url: '/api/v1/libs', headers: { 'x-api-key': keyA.key } });
        assert.ok(aList.json().libraries.some((l: { id: string }) => l.id === SECRET_ID));
        const bSearch = await app.inject({
          url: '/api/v1/libs/search?libraryName=quokkaflow',
          headers: asB,
        });
        assert.ok(!bSearch.body.includes(SECRET_ID));
        assert.equal(
          (await app.inject({ url: `/api/v1/jobs/${jobA}`, headers: asB })).statusCode,
          404,
        );
        assert.equal(
          (await app.inject({ url: `/api/v1/jobs/${jobA}`, headers: asA })).statusCode,
          200,
        );
        const bDelete = await app.inject({
          method: 'DELETE',
          url: `/api/v1/libs?libraryId=${SECRET_ID}`,
          headers: asB,
        });
        assert.equal(bDelete.statusCode, 404);

        const usage = async (headers: Record<string, string>) => {
          await engine.usage.flush();
          const u = (await app.inject({ url: '/api/v1/account/usage', headers })).json();
          const daily = u.daily as { queries: number }[];
          const quota = (u.quotas as { quota: string; used: number }[]).find(
            (q) => q.quota === 'queries',
          );
          return {
            daily: daily.reduce((n, d) => n + d.queries, 0),
            quota: quota?.used ?? -1,
            days: daily.length,
          };
        };
        const [a0, b0] = [await usage(asA), await usage(asB)];
        assert.equal(a0.days, 30);
        for (let i = 0; i < 3; i++) await app.inject({ url: query, headers: asA });
        const [a1, b1] = [await usage(asA), await usage(asB)];
        assert.deepEqual(
          [a1.daily - a0.daily, a1.quota - a0.quota],
          [3, 3],
          "A's calls count for A",
        );
        assert.deepEqual(b1, b0, "B's usage does not include A's calls");

        const bKeys = (await app.inject({ url: '/api/v1/account/keys', headers: asB })).json();
        assert.deepEqual(
          bKeys.keys.map((k: { id: string }) => k.id),
          [keyB.id],
        );
        const revokeA = await app.inject({
          method: 'DELETE',
          url: `/api/v1/account/keys/${keyA.id}`,
          headers: asB,
        });
        assert.equal(revokeA.statusCode, 404);
        assert.equal((await app.inject({ url: '/api/v1/account', headers: asA })).statusCode, 200);

        // Conversations: A's is listed and readable for A only.
        const listOf = async (headers: Record<string, string>) =>
          JSON.stringify((await app.inject({ url: '/api/v1/conversations', headers })).json());
        assert.ok((await listOf(asA)).includes(conversationA));
        assert.ok(!(await listOf(asB)).includes(conversationA));
        const conversationUrl = `/api/v1/conversations/${conversationA}`;
        const mine = await app.inject({ url: conversationUrl, headers: asA });
        assert.equal(mine.statusCode, 200);
        assert.match(mine.body, /How does Quokkaflow send telemetry/);
        for (const url of [conversationUrl, `${conversationUrl}/export`]) {
          const theirs = await app.inject({ url, headers: asB });
          assert.equal(theirs.statusCode, 404, `${url} as B`);
          assert.ok(!theirs.body.includes('Quokkaflow'));
        }
      });

      it('shows the account and plan, creates a key once, and revokes it', async () => {
        const me = await app.inject({ url: '/api/v1/account', headers: bearer(keyB.key) });
        assert.equal(me.statusCode, 200);
        assert.equal(me.json().account.email, 'bob@example.com');
        assert.equal(me.json().plan.name, 'free');
        assert.equal(me.json().plan.limits.queriesPerDay, 500);
        const created = await app.inject({
          method: 'POST',
          url: '/api/v1/account/keys',
          headers: bearer(keyB.key),
          payload: { name: 'ci' },
        });
        assert.equal(created.statusCode, 201);
        const { key, secret } = created.json();
        assert.match(secret, /^tmcp_/);
        const listed = (
          await app.inject({ url: '/api/v1/account/keys', headers: bearer(keyB.key) })
        ).body;
        assert.ok(
          listed.includes(key.id) && !listed.includes(secret),
          'listed once, secret never again',
        );
        assert.equal(
          (await app.inject({ url: '/api/v1/account', headers: bearer(secret) })).statusCode,
          200,
        );
        const adminTry = await app.inject({
          method: 'POST',
          url: '/api/v1/account/keys',
          headers: bearer(keyB.key),
          payload: { name: 'x', admin: true },
        });
        assert.equal(adminTry.statusCode, 403);
        const del = await app.inject({
          method: 'DELETE',
          url: `/api/v1/account/keys/${key.id}`,
          headers: bearer(keyB.key),
        });
        assert.equal(del.statusCode, 200);
        const after = await app.inject({ url: '/api/v1/account', headers: bearer(secret) });
        assert.equal(after.statusCode, 401);
        assert.equal(after.json().error, 'invalid_api_key');
      });

      it('adds libraries over HTTP as private to the caller, or public with an admin key', async () => {
        const source = { source: 'https://127.0.0.1:1/acme/widget.git', libraryId: '/bob/widget' };
        const anon = await app.inject({ method: 'POST', url: '/api/v1/libs', payload: source });
        assert.equal(anon.statusCode, 401);
        const mine = await app.inject({
          method: 'POST',
          url: '/api/v1/libs',
          headers: bearer(keyB.key),
          payload: source,
        });
        assert.equal(mine.statusCode, 202, mine.body);
        const owner = async (jobId: string) =>
          (
            await db().query<{ owner_account: string | null }>(
              'SELECT owner_account FROM jobs WHERE id = $1',
              [jobId],
            )
          )[0]?.owner_account;
        const me = (await app.inject({ url: '/api/v1/account', headers: bearer(keyB.key) })).json();
        assert.equal(await owner(mine.json().job.id), me.account.id);
        assert.equal(
          (
            await app.inject({
              url: `/api/v1/jobs/${mine.json().job.id}`,
              headers: bearer(keyA.key),
            })
          ).statusCode,
          404,
        );
        const pub = { ...source, libraryId: '/oss/widget', public: true };
        const notAdmin = await app.inject({
          method: 'POST',
          url: '/api/v1/libs',
          headers: bearer(keyB.key),
          payload: pub,
        });
        assert.equal(notAdmin.statusCode, 403);
        const asAdmin = await app.inject({
          method: 'POST',
          url: '/api/v1/libs',
          headers: bearer(adminKey.key),
          payload: pub,
        });
        assert.equal(asAdmin.statusCode, 202, asAdmin.body);
        assert.equal(await owner(asAdmin.json().job.id), null);
        const taken = await app.inject({
          method: 'POST',
          url: '/api/v1/libs',
          headers: bearer(keyB.key),
          payload: { ...source, libraryId: SECRET_ID },
        });
        assert.equal(taken.statusCode, 409);
      });

      it('gives operators the usage view (admin key or local token) and nobody else', async () => {
        await engine.usage.flush();
        const asAdmin = await app.inject({
          url: '/api/v1/admin/usage?days=7',
          headers: bearer(adminKey.key),
        });
        assert.equal(asAdmin.statusCode, 200, asAdmin.body);
        const body = asAdmin.json();
        assert.ok(body.topLibraries.some((l: { libraryId: string }) => l.libraryId === SECRET_ID));
        assert.ok(body.clients.some((c: { client: string }) => c.client === 'rest'));
        assert.equal(typeof body.latency.p50, 'number');
        assert.ok(body.latency.p95 >= body.latency.p50);
        assert.equal(
          (await app.inject({ url: '/api/v1/admin/usage', headers: bearer(ADMIN_TOKEN) }))
            .statusCode,
          200,
        );
        assert.equal(
          (await app.inject({ url: '/api/v1/admin/usage', headers: bearer(keyA.key) })).statusCode,
          403,
        );
        assert.equal((await app.inject({ url: '/api/v1/admin/usage' })).statusCode, 401);
      });
    }),
  { setup: (d) => migrate(d, MIGRATIONS).then(() => {}) },
);
