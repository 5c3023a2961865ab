/**
 * Operator analytics with auth on: `GET /api/v1/admin/analytics` over seeded usage events, Stripe
 * subscriptions and plan prices (top libraries, zero-result queries, p50/p95, active accounts and
 * their daily series, revenue and accounts per plan); who may call it; and the `/admin` page in
 * Debian Chromium: no CSP violation, a pasted admin key shows the charts and tables, a non-admin
 * key gets a clear error on the page. Screenshot: test/artifacts/admin.png.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { createAccount } from '../../server/accounts/accounts.js';
import { createApiKey } from '../../server/accounts/keys.js';
import { SESSION_COOKIE, signValue } from '../../server/accounts/session-cookie.js';
import { createSession } from '../../server/accounts/session-store.js';
import { loadConfig } from '../../server/config.js';
import type { Db } from '../../server/db/db.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { buildApp } from '../../server/http/app.js';
import { describeBackends } from '../helpers/backends.js';
import { authEnv, bearer, testClock, TEST_PLANS } from './accounts-helpers.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 20, 12);
const LOCAL_TOKEN = 'local-admin-token-for-analytics';
const SESSION_SECRET = 'session-secret-for-the-admin-page-tests-0123456789';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Plans with prices: pro 15.00 USD, team 99.00 USD a month. */
function pricedPlans(): unknown {
  const base = TEST_PLANS.plans.free;
  return {
    defaultPlan: 'free',
    plans: {
      ...TEST_PLANS.plans,
      pro: { ...base, priceMonthly: { amount: 1500, currency: 'usd' } },
      team: { ...base, priceMonthly: { amount: 9900, currency: 'usd' } },
    },
  };
}

async function event(
  db: Db,
  at: number,
  owner: string | null,
  libraryId: string,
  query: string,
  latencyMs: number,
  resultCount: number,
): Promise<void> {
  await db.query(
    `INSERT INTO usage_events (at, owner_account, client, kind, library_id, query, latency_ms,
                               result_count, zero_result)
     VALUES ($1, $2, 'rest', 'query', $3, $4, $5, $6, $7)`,
    [
      new Date(at).toISOString(),
      owner,
      libraryId,
      query,
      latencyMs,
      resultCount,
      resultCount === 0,
    ],
  );
}

async function subscription(db: Db, id: string, plan: string, status: string): Promise<void> {
  await db.query(
    `INSERT INTO stripe_subscriptions (id, customer_id, status, plan, event_created)
     VALUES ($1, $2, $3, $4, 1)`,
    [id, `cus_${id}`, status, plan],
  );
}

describeBackends('admin analytics', ({ db }) =>
  describe('GET /api/v1/admin/analytics and the /admin page', () => {
    let tmp: string;
    let engine: TwinEngine;
    let app: FastifyInstance;
    let base: string;
    const keys = { admin: '', pro: '', free: '' };
    // Signed session cookie values of a signed-in admin and a signed-in ordinary account.
    const cookies = { admin: '', pro: '' };
    const clock = testClock(NOW);

    before(async function () {
      this.timeout(120_000);
      tmp = mkdtempSync(join(tmpdir(), 'twinmcp-admin-analytics-'));
      engine = await createEngine({
        config: { dataDir: join(tmp, 'data') },
        db: db(),
        worker: true,
      });
      const admin = await createAccount(db(), { email: 'ops@example.com', isAdmin: true });
      keys.admin = (await createApiKey(db(), admin.id, { name: 'ops', admin: true })).key;
      const pro = await createAccount(db(), { email: 'pro@example.com', plan: 'pro' });
      keys.pro = (await createApiKey(db(), pro.id, { name: 'pro' })).key;
      const free = await createAccount(db(), { email: 'free@example.com', plan: 'free' });
      keys.free = (await createApiKey(db(), free.id, { name: 'free' })).key;
      for (const [who, id] of [
        ['admin', admin.id],
        ['pro', pro.id],
      ] as const) {
        const { token } = await createSession(db(), id, 'email', DAY);
        cookies[who] = signValue(SESSION_SECRET, SESSION_COOKIE, token);
      }
      await createAccount(db(), { email: 'idle@example.com', plan: 'free' });

      const yesterday = NOW - DAY;
      for (const ms of [10, 20, 30])
        await event(db(), yesterday, pro.id, '/acme/alpha', 'routing', ms, 3);
      await event(db(), yesterday, free.id, '/acme/alpha', 'hooks', 40, 2);
      await event(db(), yesterday, free.id, '/acme/beta', 'how to frobnicate', 100, 0);
      await event(db(), NOW - 60_000, pro.id, '/acme/beta', 'streams', 50, 1);
      // Outside a 30-day window: counts in no figure below.
      await event(db(), NOW - 40 * DAY, pro.id, '/acme/old', 'ancient <b>zero</b>', 5, 0);

      await subscription(db(), 'sub_p1', 'pro', 'active');
      await subscription(db(), 'sub_p2', 'pro', 'active');
      await subscription(db(), 'sub_p3', 'pro', 'trialing');
      await subscription(db(), 'sub_t1', 'team', 'active');
      await subscription(db(), 'sub_t2', 'team', 'canceled');

      const plansFile = join(tmp, 'priced-plans.json');
      writeFileSync(plansFile, JSON.stringify(pricedPlans()));
      app = await buildApp({
        engine,
        config: loadConfig(
          authEnv(tmp, { TWINMCP_PLANS_FILE: plansFile, TWINMCP_SESSION_SECRET: SESSION_SECRET }),
        ),
        clock: clock.now,
        adminToken: LOCAL_TOKEN,
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

    const get = (url: string, headers: Record<string, string> = {}) =>
      app.inject({ url, headers: { host: new URL(base).host, ...headers } });

    it('answers the seeded numbers to an admin key', async () => {
      const res = await get('/api/v1/admin/analytics?days=30', bearer(keys.admin));
      assert.equal(res.statusCode, 200, res.body);
      const a = res.json();
      assert.equal(a.days, 30);
      assert.deepEqual(a.topLibraries, [
        { libraryId: '/acme/alpha', calls: 4 },
        { libraryId: '/acme/beta', calls: 2 },
      ]);
      assert.deepEqual(a.zeroResultQueries, [
        { query: 'how to frobnicate', kind: 'query', libraryId: '/acme/beta', count: 1 },
      ]);
      // Latencies 10, 20, 30, 40, 50, 100: interpolated p50 35, p95 50 + 0.75 x 50.
      assert.deepEqual(a.latency, { p50: 35, p95: 87.5 });
      assert.equal(a.activeAccounts, 2);
      assert.equal(a.daily.length, 30);
      assert.deepEqual(a.daily.at(-1), { date: '2026-11-20', calls: 1, activeAccounts: 1 });
      assert.deepEqual(a.daily.at(-2), { date: '2026-11-19', calls: 5, activeAccounts: 2 });
      assert.equal(
        a.daily.reduce((n: number, d: { calls: number }) => n + d.calls, 0),
        6,
      );
      assert.deepEqual(a.revenueByPlan, [
        {
          plan: 'team',
          subscriptions: 1,
          priceMonthly: 9900,
          currency: 'usd',
          monthlyRevenue: 9900,
        },
        {
          plan: 'pro',
          subscriptions: 2,
          priceMonthly: 1500,
          currency: 'usd',
          monthlyRevenue: 3000,
        },
      ]);
      assert.deepEqual(a.accountsByPlan, [
        { plan: 'free', accounts: 3 },
        { plan: 'pro', accounts: 1 },
      ]);

      // A wider window reaches the old event; the daily series grows with it.
      const wide = (await get('/api/v1/admin/analytics?days=60', bearer(keys.admin))).json();
      assert.equal(wide.daily.length, 60);
      assert.ok(wide.topLibraries.some((l: { libraryId: string }) => l.libraryId === '/acme/old'));

      const charts = (await get('/api/v1/admin/analytics/charts', bearer(keys.admin))).json();
      assert.deepEqual(
        charts.charts.map((c: { id: string }) => c.id),
        ['calls', 'active', 'libraries', 'revenue'],
      );
      assert.match(charts.charts[0].svg, /^<svg[^>]*>.*<rect /s);
    });

    it('refuses other callers and bad input; the local admin token is let in', async () => {
      const none = await get('/api/v1/admin/analytics');
      assert.equal(none.statusCode, 401);
      assert.equal(none.json().error, 'invalid_api_key');
      const user = await get('/api/v1/admin/analytics', bearer(keys.pro));
      assert.equal(user.statusCode, 403);
      assert.equal(user.json().error, 'forbidden');
      const charts = await get('/api/v1/admin/analytics/charts', bearer(keys.free));
      assert.equal(charts.statusCode, 403);
      const bad = await get('/api/v1/admin/analytics?days=0', bearer(keys.admin));
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error, 'validation_error');
      const local = await get('/api/v1/admin/analytics?days=7', bearer(LOCAL_TOKEN));
      assert.equal(local.statusCode, 200);
      assert.equal(local.json().daily.length, 7);

      // A browser signed in as an admin account reads without a key; other sessions do not.
      const cookie = (value: string) => ({ cookie: `${SESSION_COOKIE}=${value}` });
      const bySession = await get('/api/v1/admin/analytics', cookie(cookies.admin));
      assert.equal(bySession.statusCode, 200, bySession.body);
      assert.equal(bySession.json().activeAccounts, 2);
      assert.equal((await get('/api/v1/admin/analytics', cookie(cookies.pro))).statusCode, 401);
      assert.equal((await get('/api/v1/admin/analytics', cookie('forged.sig'))).statusCode, 401);
      const account = await get('/api/v1/account', cookie(cookies.admin));
      assert.equal(account.statusCode, 401, 'the session opens admin reads only');
    });

    it('serves /admin with a strict CSP and no inline code', async () => {
      const page = await get('/admin');
      assert.equal(page.statusCode, 200);
      const csp = String(page.headers['content-security-policy']);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.doesNotMatch(page.body, /<script>|<style|\sstyle=|\son[a-z]+=/i);
      const js = await get('/admin/admin.js');
      assert.match(String(js.headers['content-type']), /^text\/javascript/);
      assert.equal((await get('/admin/admin.css')).statusCode, 200);
    });

    describe('in Chromium', () => {
      let browser: Browser;
      before(async function () {
        this.timeout(60_000);
        browser = await chromium.launch({
          executablePath: '/usr/bin/chromium',
          headless: true,
          args: CHROMIUM_ARGS,
        });
      });
      after(async () => {
        await browser?.close();
      });

      it('shows the charts and tables for an admin key and a clear error for a non-admin key', async function () {
        this.timeout(60_000);
        const context = await browser.newContext({ viewport: { width: 1100, height: 1400 } });
        const page = await context.newPage();
        const problems: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) problems.push(m.text());
        });
        page.on('pageerror', (e) => problems.push(e.message));
        try {
          await page.goto(`${base}/admin`);
          await page.fill('#admin-key', keys.admin);
          await page.click('button[type=submit]');
          await page
            .locator('#charts figure[data-chart="calls"] svg rect')
            .first()
            .waitFor({ state: 'attached' });
          const rects = await page.locator('#charts svg rect').count();
          assert.ok(rects > 30, `only ${rects} bars`);
          assert.equal(await page.locator('#active').textContent(), '2');
          assert.equal(await page.locator('#p95').textContent(), '87.5 ms');
          const top = await page.locator('#top-libraries tbody tr').allInnerTexts();
          assert.deepEqual(
            top.map((t) => t.replace(/\s+/g, ' ').trim()),
            ['/acme/alpha 4', '/acme/beta 2'],
          );
          assert.match(await page.locator('#zero-queries').innerText(), /how to frobnicate/);
          assert.match(
            await page.locator('#revenue').innerText(),
            /team\s+1\s+99\.00 USD\s+99\.00 USD/,
          );
          assert.match(
            await page.locator('#revenue').innerText(),
            /pro\s+2\s+15\.00 USD\s+30\.00 USD/,
          );
          assert.match(await page.locator('#plans').innerText(), /free\s+3/);
          // The key stays in this tab's sessionStorage, out of the form.
          assert.equal(await page.inputValue('#admin-key'), '');
          assert.equal(
            await page.evaluate(() => sessionStorage.getItem('twinmcp.adminKey')),
            keys.admin,
          );
          mkdirSync('test/artifacts', { recursive: true });
          await page.screenshot({ path: 'test/artifacts/admin.png', fullPage: true });

          await page.click('#forget');
          await page.fill('#admin-key', keys.pro);
          await page.click('button[type=submit]');
          await page.locator('#status.error').waitFor();
          const message = await page.locator('#status').textContent();
          assert.match(
            message ?? '',
            /Could not load the analytics: .*needs an admin key.*HTTP 403/,
          );
          assert.equal(await page.locator('#results').isHidden(), true);
          assert.deepEqual(problems, [], 'console errors or CSP violations');
        } finally {
          await context.close();
        }

        // Signed in on the web as an admin: the page shows the numbers without a key.
        const signedIn = await browser.newContext();
        try {
          await signedIn.addCookies([
            { name: SESSION_COOKIE, value: cookies.admin, url: base, httpOnly: true },
          ]);
          const page = await signedIn.newPage();
          await page.goto(`${base}/admin`);
          await page.locator('#results:not([hidden])').waitFor();
          assert.equal(await page.locator('#active').textContent(), '2');
          assert.equal(await page.evaluate(() => sessionStorage.getItem('twinmcp.adminKey')), null);
        } finally {
          await signedIn.close();
        }
      });
    });
  }),
);
