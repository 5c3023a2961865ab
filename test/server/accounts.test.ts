/**
 * Accounts core on both back ends: accounts, API keys (create, verify, revoke, last used),
 * private-library visibility in resolve / query / list / remove, and the shared counters behind
 * rate limits and quotas (with an injected clock).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AccountExistsError,
  createAccount,
  findAccount,
  findAccountByEmail,
  findAccountByStripeCustomer,
  getAccount,
  setAccountPlan,
  setStripeCustomer,
} from '../../server/accounts/accounts.js';
import { fixedWindow, takeFromBucket } from '../../server/accounts/buckets.js';
import { loadAccountsConfig } from '../../server/accounts/config.js';
import {
  createApiKey,
  flushKeyTouches,
  hashApiKey,
  listApiKeys,
  revokeApiKey,
  verifyApiKey,
} from '../../server/accounts/keys.js';
import { quotaWindow, readQuota, takeQuota } from '../../server/accounts/quota.js';
import { migrate } from '../../server/db/migrate.js';
import { MIGRATIONS } from '../../server/db/schema.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { EngineError } from '../../server/engine-types.js';
import { describeBackends } from '../helpers/backends.js';
import { indexAs, writeDocs } from './accounts-helpers.js';

describeBackends(
  'accounts core',
  ({ db }) => {
    describe('accounts', () => {
      it('creates, finds by id and by email (any case), and refuses a second account per email', async () => {
        const a = await createAccount(db(), { email: 'Ada@Example.COM', name: 'Ada', plan: 'pro' });
        assert.match(a.id, /^acct_[A-Za-z0-9_-]{22}$/);
        assert.equal(a.email, 'ada@example.com');
        assert.equal(a.plan, 'pro');
        assert.equal(a.isAdmin, false);
        assert.deepEqual(await getAccount(db(), a.id), a);
        assert.deepEqual(await findAccountByEmail(db(), ' ADA@example.com '), a);
        assert.deepEqual(await findAccount(db(), 'ada@EXAMPLE.com'), a);
        assert.deepEqual(await findAccount(db(), a.id), a);
        await assert.rejects(createAccount(db(), { email: 'ada@example.com' }), AccountExistsError);
        assert.equal(await getAccount(db(), 'acct_missing'), null);
      });

      it('allows several accounts without email, and changes plan and Stripe customer', async () => {
        const a = await createAccount(db(), {});
        const b = await createAccount(db(), { isAdmin: true });
        assert.notEqual(a.id, b.id);
        assert.equal(a.email, null);
        assert.equal(a.plan, 'free');
        assert.equal(b.isAdmin, true);
        assert.equal((await setAccountPlan(db(), a.id, 'team'))?.plan, 'team');
        assert.equal((await setStripeCustomer(db(), a.id, 'cus_123'))?.stripeCustomerId, 'cus_123');
        assert.equal((await findAccountByStripeCustomer(db(), 'cus_123'))?.id, a.id);
        assert.equal(await findAccountByStripeCustomer(db(), 'cus_none'), null);
        assert.equal(await setAccountPlan(db(), 'acct_missing', 'pro'), null);
      });
    });

    describe('API keys', () => {
      it('creates tmcp_ keys of 256 bits, stores only the SHA-256, and verifies them', async () => {
        const acct = await createAccount(db(), { email: 'keys@example.com' });
        const k = await createApiKey(db(), acct.id, { name: 'laptop' });
        assert.match(k.key, /^tmcp_[A-Za-z0-9_-]{43}$/);
        assert.equal(Buffer.from(k.key.slice(5), 'base64url').length, 32);
        assert.equal(k.prefix, k.key.slice(0, 11));
        const stored = await db().query<{ key_hash: string }>(
          'SELECT key_hash FROM api_keys WHERE id = $1',
          [k.id],
        );
        assert.equal(stored[0]?.key_hash, hashApiKey(k.key));
        assert.ok(
          !JSON.stringify(stored).includes(k.key.slice(5)),
          'the secret itself is not stored',
        );

        const v = await verifyApiKey(db(), k.key);
        assert.equal(v?.account.id, acct.id);
        assert.equal(v?.keyId, k.id);
        assert.equal(v?.admin, false);
        assert.equal(
          await verifyApiKey(db(), `${k.key.slice(0, -1)}${k.key.endsWith('A') ? 'B' : 'A'}`),
          null,
        );
        assert.equal(await verifyApiKey(db(), 'tmcp_short'), null);
        assert.equal(await verifyApiKey(db(), ''), null);
      });

      it('records last use once, lists keys without secrets, and revokes only the owner’s key', async () => {
        const a = await createAccount(db(), { email: 'owner@example.com' });
        const b = await createAccount(db(), { email: 'other@example.com' });
        const k = await createApiKey(db(), a.id, { name: 'ci' });
        assert.equal((await listApiKeys(db(), a.id))[0]?.lastUsedAt, null);
        await verifyApiKey(db(), k.key);
        await flushKeyTouches();
        const listed = await listApiKeys(db(), a.id);
        assert.equal(listed.length, 1);
        assert.ok(listed[0]?.lastUsedAt, 'last use recorded');
        assert.ok(!JSON.stringify(listed).includes(k.key), 'no secret in the list');
        assert.deepEqual(await listApiKeys(db(), b.id), []);

        assert.equal(
          await revokeApiKey(db(), b.id, k.id),
          false,
          'another account cannot revoke it',
        );
        assert.ok(await verifyApiKey(db(), k.key));
        assert.equal(await revokeApiKey(db(), a.id, k.id), true);
        assert.equal(await revokeApiKey(db(), a.id, k.id), false, 'already revoked');
        assert.equal(await verifyApiKey(db(), k.key), null);
        assert.ok((await listApiKeys(db(), a.id))[0]?.revokedAt);
      });

      it('grants admin only to an admin key of an admin account', async () => {
        const admin = await createAccount(db(), { isAdmin: true });
        const plain = await createAccount(db(), {});
        const adminKey = await createApiKey(db(), admin.id, { name: 'ops', admin: true });
        const userKey = await createApiKey(db(), admin.id, { name: 'daily' });
        const fakeAdmin = await createApiKey(db(), plain.id, { name: 'x', admin: true });
        assert.equal((await verifyApiKey(db(), adminKey.key))?.admin, true);
        assert.equal((await verifyApiKey(db(), userKey.key))?.admin, false);
        assert.equal((await verifyApiKey(db(), fakeAdmin.key))?.admin, false);
      });
    });

    describe('counters and quotas (injected clock)', () => {
      const config = loadAccountsConfig({});

      it('counts in fixed windows, refuses over the limit without counting, and resets', async () => {
        const { start, end } = fixedWindow(1_000_000_123, 60_000);
        const take = () => takeFromBucket(db(), 'test:a', start, end, 1, 2, start + 5);
        assert.deepEqual((await take()).count, 1);
        assert.deepEqual((await take()).count, 2);
        const refused = await take();
        assert.equal(refused.ok, false);
        assert.equal(refused.count, 2, 'a refused call is not counted');
        const next = fixedWindow(end, 60_000);
        const after = await takeFromBucket(db(), 'test:a', next.start, next.end, 1, 2, next.start);
        assert.deepEqual([after.ok, after.count], [true, 1]);
      });

      it('keeps queries, hover and chat tokens apart, per account, per UTC day or month', async () => {
        const t0 = Date.UTC(2025, 4, 31, 23, 59, 0);
        const a = { accountId: 'acct_quota_a', ip: '10.0.0.1', plan: 'free' };
        const anon = { accountId: null, ip: '10.0.0.9', plan: '' };
        const q1 = await takeQuota(db(), config, a, 'queries', 1, t0);
        assert.deepEqual([q1.ok, q1.used, q1.limit], [true, 1, 1000]);
        assert.equal(q1.resetsAt, Date.UTC(2025, 5, 1));
        await takeQuota(db(), config, a, 'hover', 1, t0);
        assert.equal((await readQuota(db(), config, a, 'queries', t0)).used, 1);
        assert.equal((await readQuota(db(), config, a, 'hover', t0)).used, 1);
        const anonRead = await readQuota(db(), config, anon, 'queries', t0);
        assert.deepEqual([anonRead.used, anonRead.limit], [0, 200]);
        // Chat tokens: a month; too many at once is refused whole.
        assert.equal((await takeQuota(db(), config, a, 'chatTokens', 150_000, t0)).ok, true);
        assert.equal((await takeQuota(db(), config, a, 'chatTokens', 60_000, t0)).ok, false);
        assert.equal((await readQuota(db(), config, a, 'chatTokens', t0)).used, 150_000);
        // Two minutes later it is the next day and the next month.
        const t1 = t0 + 120_000;
        assert.equal((await readQuota(db(), config, a, 'queries', t1)).used, 0);
        assert.equal((await readQuota(db(), config, a, 'chatTokens', t1)).used, 0);
        assert.deepEqual(quotaWindow('chatTokens', t1), {
          start: Date.UTC(2025, 5, 1),
          end: Date.UTC(2025, 6, 1),
        });
      });
    });

    describe('private libraries in the engine', function () {
      this.timeout(120_000);
      let tmp: string;
      let engine: TwinEngine;
      let a: string;
      let b: string;

      before(async () => {
        tmp = mkdtempSync(join(tmpdir(), 'twinmcp-acct-'));
        engine = await createEngine({
          config: { dataDir: join(tmp, 'data') },
          db: db(),
          worker: true,
        });
        a = (await createAccount(db(), { email: 'private-a@example.com' })).id;
        b = (await createAccount(db(), { email: 'private-b@example.com' })).id;
        writeDocs(join(tmp, 'secret'), 'Quokkaflow', 'telemetry');
        writeDocs(join(tmp, 'public'), 'Wombatkit', 'caching');
        await indexAs(engine, join(tmp, 'secret'), '/acme/quokkaflow', 'Quokkaflow', a);
        await indexAs(engine, join(tmp, 'public'), '/oss/wombatkit', 'Wombatkit', null);
      });
      after(async () => {
        await engine?.close();
        if (tmp) rmSync(tmp, { recursive: true, force: true });
      });

      const ids = (xs: { id: string }[]) => xs.map((x) => x.id);

      it('lists and resolves a private library for its owner and trusted callers only', async () => {
        assert.deepEqual(ids(await engine.listLibraries({ client: 'rest', owner: a })), [
          '/acme/quokkaflow',
          '/oss/wombatkit',
        ]);
        assert.deepEqual(ids(await engine.listLibraries({ client: 'rest', owner: b })), [
          '/oss/wombatkit',
        ]);
        assert.deepEqual(ids(await engine.listLibraries({ client: 'rest', owner: null })), [
          '/oss/wombatkit',
        ]);
        assert.equal((await engine.listLibraries()).length, 2, 'trusted callers see everything');
        assert.deepEqual(
          ids(await engine.resolve('quokkaflow', undefined, { client: 'mcp', owner: a })).slice(
            0,
            1,
          ),
          ['/acme/quokkaflow'],
        );
        assert.ok(
          !ids(
            await engine.resolve('quokkaflow', 'telemetry', { client: 'mcp', owner: b }),
          ).includes('/acme/quokkaflow'),
        );
        assert.ok(
          !ids(
            await engine.resolve('quokkaflow', undefined, { client: 'mcp', owner: null }),
          ).includes('/acme/quokkaflow'),
        );
      });

      it('answers queries on it for the owner; to others it is not indexed, and never suggested', async () => {
        const mine = await engine.query('/acme/quokkaflow', 'retry telemetry', undefined, {
          client: 'rest',
          owner: a,
        });
        assert.match(mine.text, /retries/);
        for (const owner of [b, null]) {
          await assert.rejects(
            engine.query('/acme/quokkaflow', 'retry telemetry', undefined, {
              client: 'rest',
              owner,
            }),
            (err: unknown) =>
              err instanceof EngineError &&
              err.code === 'library_not_found' &&
              !err.suggestions.includes('/acme/quokkaflow'),
          );
          await assert.rejects(
            engine.query('/acme/quokkaflw', 'retry', undefined, { client: 'rest', owner }),
            (err: unknown) => err instanceof EngineError && !err.message.includes('quokkaflow'),
          );
        }
      });

      it('removes it only for its owner, and keeps others from adding to its id', async () => {
        await assert.rejects(
          engine.addSource({
            source: join(tmp, 'public'),
            libraryId: '/acme/quokkaflow',
            trustedLocal: true,
            owner: b,
          }),
          (err: unknown) => err instanceof EngineError && err.code === 'conflict',
        );
        assert.equal(
          await engine.removeLibrary('/acme/quokkaflow', { client: 'rest', owner: b }),
          false,
        );
        assert.equal(
          await engine.removeLibrary('/oss/wombatkit', { client: 'rest', owner: a }),
          false,
          'public needs a trusted caller',
        );
        assert.equal(
          await engine.removeLibrary('/acme/quokkaflow', { client: 'rest', owner: a }),
          true,
        );
        assert.deepEqual(ids(await engine.listLibraries()), ['/oss/wombatkit']);
      });
    });
  },
  { setup: (d) => migrate(d, MIGRATIONS).then(() => {}) },
);
