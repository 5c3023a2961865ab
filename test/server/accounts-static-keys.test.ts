/**
 * Operations settings of accounts with auth on: static keys from TWINMCP_API_KEYS (a whole key or
 * its SHA-256, optionally admin; removed entries revoked at the next start; bad entries refused
 * naming the variable without echoing a secret), and the per-IP rate limit of the sign-in and
 * device-flow routes (shared by them, per hashed address, back after the 10-minute window).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { hashApiKey } from '../../server/accounts/keys.js';
import { ConfigError, loadConfig } from '../../server/config.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { buildApp } from '../../server/http/app.js';
import { describeBackends } from '../helpers/backends.js';
import { authEnv, bearer, testClock } from './accounts-helpers.js';

const newKey = () => `tmcp_${randomBytes(32).toString('base64url')}`;

describeBackends('accounts static keys and sign-in limit', ({ db }) =>
  describe('TWINMCP_API_KEYS and TWINMCP_SIGNIN_RATE_MAX', () => {
    let tmp: string;
    let engine: TwinEngine;
    const apps: FastifyInstance[] = [];
    const ci = newKey();
    const ops = newKey();
    const clock = testClock();

    before(async function () {
      this.timeout(120_000);
      tmp = mkdtempSync(join(tmpdir(), 'twinmcp-static-keys-'));
      engine = await createEngine({
        config: { dataDir: join(tmp, 'data') },
        db: db(),
        worker: true,
      });
    });
    after(async () => {
      for (const app of apps) await app.close();
      await engine?.close();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    async function start(env: Record<string, string>): Promise<FastifyInstance> {
      const app = await buildApp({
        engine,
        config: loadConfig(authEnv(tmp, env)),
        clock: clock.now,
      });
      apps.push(app);
      return app;
    }

    it('lets the listed keys in as service accounts and revokes the ones removed', async () => {
      const app = await start({
        TWINMCP_API_KEYS: `ci:${ci}, ops:sha256:${hashApiKey(ops)}:admin`,
      });
      const account = await app.inject({ url: '/api/v1/account', headers: bearer(ci) });
      assert.equal(account.statusCode, 200, account.body);
      assert.equal(account.json().account.id, 'acct_static_ci');
      assert.equal(account.json().account.plan, 'free');
      assert.equal(account.json().keyId, 'key_static_ci');
      assert.equal(
        (await app.inject({ url: '/api/v1/admin/analytics', headers: bearer(ci) })).statusCode,
        403,
      );
      const admin = await app.inject({ url: '/api/v1/admin/analytics', headers: bearer(ops) });
      assert.equal(admin.statusCode, 200, admin.body);
      const listed = (
        await app.inject({ url: '/api/v1/account/keys', headers: bearer(ops) })
      ).json();
      assert.equal(listed.keys[0].prefix, `sha256:${hashApiKey(ops).slice(0, 6)}`);

      // The next start lists only ops: ci's key is revoked, ops's still works.
      const next = await start({ TWINMCP_API_KEYS: `ops:${ops}:admin` });
      const revoked = await next.inject({ url: '/api/v1/account', headers: bearer(ci) });
      assert.equal(revoked.statusCode, 401);
      assert.equal(revoked.json().error, 'invalid_api_key');
      assert.equal(
        (await next.inject({ url: '/api/v1/account', headers: bearer(ops) })).statusCode,
        200,
      );
    });

    it('refuses malformed entries naming the variable, never the secret', () => {
      for (const [value, why] of [
        ['ci', /entry 1 \("ci"\): expected name:tmcp_/],
        [`ci:${ci},ci:${ops}`, /entry 2 \("ci"\): the name is used twice/],
        ['bad name:tmcp_short', /entry 1: the name before ':' must be/],
        ['ops:sha256:1234', /entry 1 \("ops"\): expected/],
      ] as const) {
        assert.throws(
          () => loadConfig(authEnv(tmp, { TWINMCP_API_KEYS: value })),
          (err: Error) =>
            err instanceof ConfigError &&
            /TWINMCP_API_KEYS: /.test(err.message) &&
            why.test(err.message) &&
            !err.message.includes(ci.slice(5)),
        );
      }
    });

    it('limits sign-in and device requests per address, across those routes, until the window passes', async () => {
      const app = await start({ TWINMCP_SIGNIN_RATE_MAX: '3' });
      const post = (url: string, remoteAddress = '203.0.113.7') =>
        app.inject({
          method: 'POST',
          url,
          remoteAddress,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: 'email=someone%40example.com',
        });
      for (const url of ['/api/v1/auth/device/code', '/signin/email', '/device/decide']) {
        const res = await post(url);
        assert.notEqual(res.statusCode, 429, url);
        assert.equal(res.headers['ratelimit-limit'], '3');
      }
      const refused = await post('/api/v1/auth/device/code');
      assert.equal(refused.statusCode, 429);
      assert.equal(refused.json().error, 'rate_limit_exceeded');
      assert.match(
        refused.json().message,
        /Too many sign-in requests from this address \(3 per 10 minutes\)/,
      );
      const retryAfter = Number(refused.headers['retry-after']);
      assert.ok(retryAfter > 0 && retryAfter <= 600, `Retry-After ${retryAfter}`);
      assert.equal(refused.headers['ratelimit-remaining'], '0');
      assert.equal((await post('/signin/email')).statusCode, 429, 'one count for all the routes');
      // Another address has its own count; the polling route is not limited by this.
      assert.notEqual((await post('/signin/email', '203.0.113.8')).statusCode, 429);
      assert.notEqual((await post('/api/v1/auth/device/token')).statusCode, 429);
      const keysStored = await db().query<{ key: string }>(
        `SELECT key FROM rate_buckets WHERE key LIKE 'rl:signin:%'`,
      );
      assert.equal(keysStored.length, 2);
      assert.ok(keysStored.every((r) => !r.key.includes('203.0.113')));

      clock.advance(10 * 60_000);
      assert.notEqual((await post('/api/v1/auth/device/code')).statusCode, 429);
    });
  }),
);
