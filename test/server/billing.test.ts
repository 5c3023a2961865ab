import assert from 'node:assert/strict';
import Stripe from 'stripe';
import { createAccount, getAccount, setAccountPlan } from '../../server/accounts/accounts.js';
import { createApiKey } from '../../server/accounts/keys.js';
import { SESSION_COOKIE, signValue } from '../../server/accounts/session-cookie.js';
import { createSession } from '../../server/accounts/session-store.js';
import { ConfigError, loadConfig } from '../../server/config.js';
import { describeBackends } from '../helpers/backends.js';
import { FakeStripe } from '../helpers/fake-stripe.js';
import { startApp, type RunningApp } from '../helpers/signin-browser.js';

const SECRET_KEY = 'sk_test_fake_0123456789';
const WEBHOOK_SECRET = 'whsec_test_0123456789abcdef';
const SESSION_SECRET = 'test-session-secret-0123456789abcdef';
const signer = new Stripe(SECRET_KEY);

describe('billing configuration', () => {
  const base = { TWINMCP_DATA_DIR: '/tmp/twinmcp-billing-config' };
  it('names the missing or wrong variable', () => {
    assert.throws(
      () =>
        loadConfig({
          ...base,
          STRIPE_SECRET_KEY: SECRET_KEY,
          TWINMCP_STRIPE_PRICES: 'pro=price_1',
        }),
      (err: Error) =>
        err instanceof ConfigError && /STRIPE_WEBHOOK_SECRET: required/.test(err.message),
    );
    assert.throws(
      () =>
        loadConfig({
          ...base,
          STRIPE_SECRET_KEY: SECRET_KEY,
          STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
          TWINMCP_STRIPE_PRICES: 'gold=price_1',
        }),
      /TWINMCP_STRIPE_PRICES: unknown plan "gold"/,
    );
    assert.throws(
      () => loadConfig({ ...base, STRIPE_SECRET_KEY: 'pk_live_x' }),
      /STRIPE_SECRET_KEY: must be/,
    );
    assert.equal(loadConfig(base).billing, undefined);
  });
});

describeBackends('Stripe billing', (ctx) => {
  let stripe: FakeStripe;
  let running: RunningApp;

  before(async () => {
    stripe = new FakeStripe(SECRET_KEY, ['price_pro_test', 'price_team_test']);
    await stripe.start();
    running = await startApp(ctx.db(), {
      TWINMCP_AUTH: 'on',
      STRIPE_SECRET_KEY: SECRET_KEY,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      TWINMCP_STRIPE_PRICES: 'pro=price_pro_test,team=price_team_test',
      TWINMCP_STRIPE_API_URL: stripe.url,
      TWINMCP_SESSION_SECRET: SESSION_SECRET,
    });
  });

  after(async () => {
    await running?.close();
    await stripe?.stop();
  });

  async function newCustomer(email: string): Promise<{ id: string; key: string }> {
    const account = await createAccount(ctx.db(), { email, plan: 'free' });
    const key = await createApiKey(ctx.db(), account.id, { name: 'test' });
    return { id: account.id, key: key.key };
  }

  const api = (path: string, key: string | undefined, body?: unknown) =>
    fetch(`${running.base}/api/v1${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  const planOf = async (key: string): Promise<string> => {
    const res = await api('/account', key);
    assert.equal(res.status, 200);
    return ((await res.json()) as { account: { plan: string } }).account.plan;
  };

  async function deliver(event: object, secret = WEBHOOK_SECRET, tamper?: (p: string) => string) {
    const payload = JSON.stringify(event, null, 2);
    const header = signer.webhooks.generateTestHeaderString({ payload, secret });
    return fetch(`${running.base}/api/v1/billing/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header },
      body: tamper ? tamper(payload) : payload,
    });
  }

  async function subscribe(
    key: string,
    plan: string,
  ): Promise<{ sessionId: string; subId: string; event: object }> {
    const res = await api('/billing/checkout', key, { plan });
    assert.equal(res.status, 200, await res.clone().text());
    const { url } = (await res.json()) as { url: string };
    const sessionId = /\/c\/pay\/(cs_test_\w+)$/.exec(url)![1]!;
    const { session, subscription } = stripe.completeCheckout(sessionId);
    return {
      sessionId,
      subId: subscription.id as string,
      event: stripe.event('checkout.session.completed', session),
    };
  }

  it('checkout -> signed webhook -> plan change, visible on the next request', async () => {
    const acct = await newCustomer('payer@example.com');
    assert.equal(await planOf(acct.key), 'free');

    const res = await api('/billing/checkout', acct.key, { plan: 'pro' });
    assert.equal(res.status, 200);
    const { url } = (await res.json()) as { url: string };
    assert.match(url, /^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/);

    const created = stripe.requests.find((r) => r.path === '/v1/customers');
    assert.equal(created?.params.email, 'payer@example.com');
    assert.deepEqual(created?.params.metadata, { account_id: acct.id });
    assert.equal(created?.idempotencyKey, `twinmcp-customer-${acct.id}`);
    const sessionReq = stripe.requests.filter((r) => r.path === '/v1/checkout/sessions').at(-1)!;
    assert.equal(sessionReq.params.mode, 'subscription');
    assert.deepEqual(sessionReq.params.line_items, [{ price: 'price_pro_test', quantity: '1' }]);
    assert.equal(sessionReq.params.client_reference_id, acct.id);
    assert.match(String(sessionReq.params.success_url), /\{CHECKOUT_SESSION_ID\}/);
    const account = await getAccount(ctx.db(), acct.id);
    assert.equal(account?.stripeCustomerId, sessionReq.params.customer);

    const sessionId = /cs_test_\w+$/.exec(url)![0];
    const { session } = stripe.completeCheckout(sessionId);
    const delivered = await deliver(stripe.event('checkout.session.completed', session));
    assert.equal(delivered.status, 200);
    assert.deepEqual(await delivered.json(), { received: true, duplicate: false });

    assert.equal(await planOf(acct.key), 'pro');
    const usage = await api('/account', acct.key);
    const body = (await usage.json()) as { plan: { name: string } };
    assert.equal(body.plan.name, 'pro');
  });

  it('rejects a forged or tampered signature with 400 and changes nothing', async () => {
    const acct = await newCustomer('forger@example.com');
    const { event } = await subscribe(acct.key, 'pro');
    const before = await ctx.db().query('SELECT id FROM stripe_events');

    const forged = await deliver(event, 'whsec_not_the_real_secret');
    assert.equal(forged.status, 400);
    assert.equal(((await forged.json()) as { error: string }).error, 'validation_error');
    const tampered = await deliver(event, WEBHOOK_SECRET, (p) =>
      p.replace('"active"', '"trialing"').replace('complete', 'complete '),
    );
    assert.equal(tampered.status, 400);
    const unsigned = await fetch(`${running.base}/api/v1/billing/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
    });
    assert.equal(unsigned.status, 400);

    assert.equal((await ctx.db().query('SELECT id FROM stripe_events')).length, before.length);
    assert.equal(await planOf(acct.key), 'free');
  });

  it('processes a replayed event id once', async () => {
    const acct = await newCustomer('replay@example.com');
    const { event } = await subscribe(acct.key, 'pro');
    assert.equal((await deliver(event)).status, 200);
    assert.equal(await planOf(acct.key), 'pro');
    // An operator comps the account; a second delivery of the same event must not undo it.
    await setAccountPlan(ctx.db(), acct.id, 'team');
    const again = await deliver(event);
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), { received: true, duplicate: true });
    assert.equal(await planOf(acct.key), 'team');
    const rows = await ctx
      .db()
      .query('SELECT id FROM stripe_events WHERE id = $1', [(event as { id: string }).id]);
    assert.equal(rows.length, 1);
  });

  it('ends in the right state when subscription events arrive out of order', async () => {
    const acct = await newCustomer('order@example.com');
    const { subId, event } = await subscribe(acct.key, 'pro');
    const t = (event as { created: number }).created;
    await deliver(event);
    const active = stripe.subscriptions.get(subId)!;
    const canceled = { ...structuredClone(active), status: 'canceled' };
    // Newest first: the deletion (t+20), then a stale "updated: active" (t+10).
    assert.equal(
      (await deliver(stripe.event('customer.subscription.deleted', canceled, t + 20))).status,
      200,
    );
    assert.equal(await planOf(acct.key), 'free');
    assert.equal(
      (await deliver(stripe.event('customer.subscription.updated', active, t + 10))).status,
      200,
    );
    assert.equal(await planOf(acct.key), 'free');
    const [row] = await ctx
      .db()
      .query<{ status: string }>('SELECT status FROM stripe_subscriptions WHERE id = $1', [subId]);
    assert.equal(row?.status, 'canceled');
  });

  it('keeps the plan while past_due, drops it when unpaid, restores it on invoice.paid', async () => {
    const acct = await newCustomer('dunning@example.com');
    const { subId, event } = await subscribe(acct.key, 'team');
    const t = (event as { created: number }).created;
    await deliver(event);
    assert.equal(await planOf(acct.key), 'team');

    stripe.updateSubscription(subId, { status: 'past_due' });
    await deliver(stripe.event('invoice.payment_failed', stripe.invoice(subId, 'open'), t + 1));
    assert.equal(await planOf(acct.key), 'team');

    stripe.updateSubscription(subId, { status: 'unpaid' });
    await deliver(stripe.event('invoice.payment_failed', stripe.invoice(subId, 'open'), t + 2));
    assert.equal(await planOf(acct.key), 'free');

    stripe.updateSubscription(subId, { status: 'active' });
    await deliver(stripe.event('invoice.paid', stripe.invoice(subId, 'paid'), t + 3));
    assert.equal(await planOf(acct.key), 'team');
  });

  it('follows customer.subscription.created and .updated (a plan change in the portal)', async () => {
    const acct = await newCustomer('upgrade@example.com');
    const { subId, event } = await subscribe(acct.key, 'pro');
    const t = (event as { created: number }).created;
    const sub = stripe.subscriptions.get(subId)!;
    await deliver(stripe.event('customer.subscription.created', sub, t));
    assert.equal(await planOf(acct.key), 'pro');
    const items = sub.items as { data: { price: { id: string } }[] };
    items.data[0]!.price.id = 'price_team_test';
    await deliver(stripe.event('customer.subscription.updated', sub, t + 5));
    assert.equal(await planOf(acct.key), 'team');
  });

  it('opens the billing portal for a customer, 409 for an account that never paid', async () => {
    const payer = await newCustomer('portal@example.com');
    await subscribe(payer.key, 'pro');
    const res = await api('/billing/portal', payer.key, {});
    assert.equal(res.status, 200);
    assert.match(
      ((await res.json()) as { url: string }).url,
      /^https:\/\/billing\.stripe\.com\/p\/session\//,
    );
    const never = await newCustomer('never-paid@example.com');
    const conflict = await api('/billing/portal', never.key, {});
    assert.equal(conflict.status, 409);
    assert.equal(((await conflict.json()) as { error: string }).error, 'conflict');
  });

  it('refuses checkout without a key or session, for an unsold plan, and when already subscribed', async () => {
    assert.equal((await api('/billing/checkout', undefined, { plan: 'pro' })).status, 401);
    assert.equal(
      (await api('/billing/checkout', 'tmcp_' + 'x'.repeat(43), { plan: 'pro' })).status,
      401,
    );
    const acct = await newCustomer('picky@example.com');
    const unsold = await api('/billing/checkout', acct.key, { plan: 'free' });
    assert.equal(unsold.status, 400);
    assert.match(
      ((await unsold.json()) as { message: string }).message,
      /plans for sale: pro, team/,
    );
    const { event } = await subscribe(acct.key, 'pro');
    await deliver(event);
    assert.equal((await api('/billing/checkout', acct.key, { plan: 'team' })).status, 409);
  });

  it('starts checkout for a browser session (signed cookie, no key)', async () => {
    const account = await createAccount(ctx.db(), { email: 'browser-buyer@example.com' });
    const { token } = await createSession(ctx.db(), account.id, 'email', 3_600_000);
    const res = await fetch(`${running.base}/api/v1/billing/checkout`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: `${SESSION_COOKIE}=${encodeURIComponent(signValue(SESSION_SECRET, SESSION_COOKIE, token))}`,
      },
      body: JSON.stringify({ plan: 'pro' }),
    });
    assert.equal(res.status, 200);
  });

  it('reports a Stripe refusal as 502 naming the problem', async () => {
    const acct = await newCustomer('stripe-down@example.com');
    const saved = stripe.secretKey;
    Object.assign(stripe, { secretKey: 'sk_test_rotated' });
    try {
      const res = await api('/billing/checkout', acct.key, { plan: 'pro' });
      assert.equal(res.status, 502);
      assert.match(((await res.json()) as { message: string }).message, /Invalid API Key/);
    } finally {
      Object.assign(stripe, { secretKey: saved });
    }
  });
});
