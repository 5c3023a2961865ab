import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { accountData } from './fixtures.js';
import {
  buildBundles,
  requireChromium,
  startHarness,
  type Harness,
  type WebviewPage,
} from './harness.js';

describe('webview: account page in Chromium', function () {
  let harness: Harness;
  let view: WebviewPage;

  before(async function () {
    requireChromium(this);
    harness = await startHarness(await buildBundles());
  });
  after(async () => harness?.close());
  beforeEach(async () => {
    view = await harness.open('account', { viewport: { width: 960, height: 900 } });
  });
  afterEach(async () => {
    if (!view) return;
    assert.deepEqual(await view.problems(), []);
    await view.close();
  });

  it('renders the plan, quota bars and the usage chart as SVG bars', async () => {
    const { page } = view;
    await view.send(accountData());
    await page.locator('.plan-name', { hasText: 'free' }).waitFor();
    assert.match((await page.locator('.plan').textContent()) ?? '', /Ada <ada@example\.com>/);
    assert.match((await page.locator('.limits').textContent()) ?? '', /Queries per day100/);

    const queries = page.getByRole('progressbar', { name: 'Documentation queries' });
    assert.equal(await queries.getAttribute('aria-valuenow'), '42');
    assert.equal(await queries.getAttribute('aria-valuemax'), '100');
    const fill = await queries
      .locator('.quota-fill')
      .evaluate((node) => (node as HTMLElement).style.width);
    assert.equal(fill, '42%');
    assert.match((await page.locator('.quota-queries').textContent()) ?? '', /42 \/ 100/);
    assert.match((await page.locator('.quota-queries').textContent()) ?? '', /Resets/);
    assert.equal(await page.locator('.quota-hover .quota-fill.near-limit').count(), 1);
    assert.match((await page.locator('.quota-privateLibraries').textContent()) ?? '', /unlimited/);

    const charts = page.locator('figure.chart svg');
    assert.equal(await charts.count(), 2);
    // 30 days x (queries, hover) bars + 2 legend swatches in the first chart.
    const bars = await charts.first().evaluate((svg) =>
      Array.from(svg.querySelectorAll('rect')).map((r) => ({
        height: Number(r.getAttribute('height')),
        fill: getComputedStyle(r).fill,
      })),
    );
    assert.equal(bars.length, 62);
    assert.ok(bars.filter((b) => b.height > 0).length > 30);
    assert.equal(bars[0]?.fill, 'rgb(55, 148, 255)', 'theme colour --vscode-charts-blue');
    assert.equal(
      await charts.first().locator('title').first().textContent(),
      'Queries and hover lookups per day (last 30 days)',
    );
    const box = await charts.first().boundingBox();
    assert.ok(box && box.height > 100 && box.width > 300, JSON.stringify(box));
  });

  it('lists API keys; Revoke posts account/revokeKey for that key', async () => {
    const { page } = view;
    await view.send(accountData());
    const rows = page.locator('table.keys tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 2);
    assert.match((await rows.first().textContent()) ?? '', /laptop.*tmcp_ab12/);
    assert.match((await rows.nth(1).textContent()) ?? '', /old ci.*never/);
    // A revoked key has no Revoke button.
    assert.equal(await page.getByRole('button', { name: 'Revoke key old ci' }).count(), 0);
    await page.getByRole('button', { name: 'Revoke key laptop' }).click();
    assert.deepEqual(await view.waitForPosted('account/revokeKey'), {
      type: 'account/revokeKey',
      id: 'key_1',
    });
  });

  it('Create posts account/createKey; the secret is shown once, copyable, and never saved', async () => {
    const { page } = view;
    await view.send(accountData());
    // An empty name is refused in place.
    await page.getByRole('button', { name: 'Create API key' }).click();
    assert.equal(await page.locator('#new-key-name').getAttribute('aria-invalid'), 'true');
    await page.getByLabel('New key name').fill('ci runner');
    await page.getByRole('button', { name: 'Create API key' }).click();
    assert.deepEqual(await view.waitForPosted('account/createKey'), {
      type: 'account/createKey',
      name: 'ci runner',
    });
    const secret = 'tmcp_live_0123456789abcdef0123456789abcdef';
    const data = accountData() as Extract<ReturnType<typeof accountData>, { type: 'account/data' }>;
    const key = {
      id: 'key_3',
      prefix: 'tmcp_live',
      name: 'ci runner',
      admin: false,
      createdAt: '2026-12-02T03:00:00.000Z',
      lastUsedAt: null,
      revokedAt: null,
    };
    await view.send({ type: 'account/keyCreated', key, secret });
    // The host refreshes the page right after; the secret must stay visible.
    await view.send({ ...data, keys: [...data.keys, key] });
    const field = page.locator('#new-key-secret');
    await field.waitFor();
    assert.equal(await field.inputValue(), secret);
    assert.equal(await field.getAttribute('readonly'), '');
    assert.match((await page.locator('.shown-once').textContent()) ?? '', /shown once/);
    await page.getByRole('button', { name: 'Copy the new key secret' }).click();
    assert.deepEqual(await view.waitForPosted('copyCode'), { type: 'copyCode', code: secret });
    assert.doesNotMatch(JSON.stringify(await view.savedState()), new RegExp(secret));
    mkdirSync('test/artifacts', { recursive: true });
    await page.screenshot({ path: 'test/artifacts/account.png', fullPage: true });
    await page.getByRole('button', { name: 'Hide the secret' }).click();
    assert.equal(await field.count(), 0);
  });

  it('Upgrade posts one message per plan; Manage billing and Refresh post theirs', async () => {
    const { page } = view;
    await view.send(accountData());
    await page.getByRole('button', { name: 'Upgrade to the team plan' }).click();
    assert.deepEqual(await view.waitForPosted('account/upgrade'), {
      type: 'account/upgrade',
      plan: 'team',
    });
    await page.getByRole('button', { name: 'Upgrade to the pro plan' }).click();
    assert.equal((await view.waitForPosted('account/upgrade', 2)).plan, 'pro');
    await page.getByRole('button', { name: 'Manage billing' }).click();
    await view.waitForPosted('account/manageBilling');
    await page.getByRole('button', { name: 'Refresh account data' }).click();
    await view.waitForPosted('account/refresh');
  });

  it('signed out shows Sign in, which posts signIn', async () => {
    const { page } = view;
    await view.send(accountData());
    await page.locator('.plan').waitFor();
    await view.send({ type: 'account/signedOut' });
    await page.getByRole('button', { name: 'Sign in to TwinMCP' }).click();
    await view.waitForPosted('signIn');
    assert.equal(await page.locator('.plan').count(), 0);
    assert.equal(
      await page.getByRole('button', { name: 'Refresh account data' }).isVisible(),
      false,
    );
  });

  it('host errors show as an alert', async () => {
    const { page } = view;
    await view.send({ type: 'error', message: 'Could not create the key: name taken' });
    await page.getByRole('alert').filter({ hasText: 'name taken' }).waitFor();
  });
});
