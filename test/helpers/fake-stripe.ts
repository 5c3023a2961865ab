/**
 * A local stand-in for the parts of Stripe's REST API that billing uses, speaking Stripe's wire
 * format: form-encoded requests with bracketed keys, Bearer secret keys, JSON objects with an
 * `object` field, list objects, and errors as `{error: {type, code, message, param}}`. The
 * official `stripe` SDK is pointed at it through `host`, `port` and `protocol`.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

type Obj = Record<string, unknown>;

export interface StripeRequestLog {
  method: string;
  path: string;
  params: Obj;
  idempotencyKey: string | undefined;
}

const API_VERSION = '2026-10-28.endive';

function id(prefix: string): string {
  return `${prefix}_test_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
}

/** Decodes `a[b][0][c]=v` form bodies into nested objects and arrays, as Stripe does. */
export function decodeStripeForm(body: string): Obj {
  const root: Obj = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const path = key.split(/[[\]]+/).filter((p) => p !== '');
    let node: Obj | unknown[] = root;
    path.forEach((part, i) => {
      const last = i === path.length - 1;
      const container = node as Record<string, unknown>;
      if (last) {
        container[part] = value;
        return;
      }
      const nextIsIndex = /^\d+$/.test(path[i + 1]!);
      container[part] ??= nextIsIndex ? [] : {};
      node = container[part] as Obj | unknown[];
    });
  }
  return root;
}

class StripeError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly code?: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

/** The fake: objects in memory, a request log, and helpers that play Stripe's side of a checkout. */
export class FakeStripe {
  readonly requests: StripeRequestLog[] = [];
  readonly customers = new Map<string, Obj>();
  readonly sessions = new Map<string, Obj>();
  readonly subscriptions = new Map<string, Obj>();
  private readonly prices = new Set<string>();
  private server: http.Server | undefined;
  port = 0;

  constructor(
    readonly secretKey: string,
    prices: string[],
  ) {
    for (const p of prices) this.prices.add(p);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  /** Plays the customer paying on the hosted page: the session completes with a subscription. */
  completeCheckout(sessionId: string, status = 'active'): { session: Obj; subscription: Obj } {
    const session = this.sessions.get(sessionId);
    if (!session) throw new Error(`no checkout session ${sessionId}`);
    const price = ((session.line_items as Obj[])[0] as Obj).price as string;
    const now = Math.floor(Date.now() / 1000);
    const subId = id('sub');
    const subscription: Obj = {
      id: subId,
      object: 'subscription',
      customer: session.customer,
      status,
      cancel_at_period_end: false,
      created: now,
      livemode: false,
      metadata: ((session.subscription_data as Obj | undefined)?.metadata as Obj) ?? {},
      items: {
        object: 'list',
        data: [
          {
            id: id('si'),
            object: 'subscription_item',
            price: { id: price, object: 'price', active: true, currency: 'usd', type: 'recurring' },
            quantity: 1,
            subscription: subId,
            current_period_start: now,
            current_period_end: now + 30 * 86400,
          },
        ],
        has_more: false,
        url: `/v1/subscription_items?subscription=${subId}`,
      },
    };
    this.subscriptions.set(subId, subscription);
    Object.assign(session, { status: 'complete', payment_status: 'paid', subscription: subId });
    return { session, subscription };
  }

  /** Changes a subscription as Stripe would (status after a failed payment, a cancellation...). */
  updateSubscription(subId: string, patch: Obj): Obj {
    const sub = this.subscriptions.get(subId);
    if (!sub) throw new Error(`no subscription ${subId}`);
    return Object.assign(sub, patch);
  }

  /** An event object as Stripe delivers it to a webhook endpoint. */
  event(type: string, object: Obj, created = Math.floor(Date.now() / 1000)): Obj {
    return {
      id: id('evt'),
      object: 'event',
      api_version: API_VERSION,
      created,
      data: { object: structuredClone(object) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    };
  }

  /** An invoice for a subscription, in the 2025-03-31+ shape (subscription under `parent`). */
  invoice(subId: string, status: 'paid' | 'open'): Obj {
    const sub = this.subscriptions.get(subId);
    return {
      id: id('in'),
      object: 'invoice',
      customer: sub?.customer ?? null,
      status,
      paid: status === 'paid',
      parent: {
        type: 'subscription_details',
        quote_details: null,
        subscription_details: { metadata: {}, subscription: subId },
      },
      livemode: false,
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url ?? '/', this.url);
    const params =
      req.method === 'GET' ? decodeStripeForm(url.search.slice(1)) : decodeStripeForm(body);
    const idem = req.headers['idempotency-key'];
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname,
      params,
      idempotencyKey: typeof idem === 'string' ? idem : undefined,
    });
    res.setHeader('request-id', id('req'));
    res.setHeader('stripe-version', API_VERSION);
    res.setHeader('content-type', 'application/json');
    try {
      if (req.headers.authorization !== `Bearer ${this.secretKey}`) {
        throw new StripeError(401, 'invalid_request_error', 'Invalid API Key provided');
      }
      const out = this.route(
        req.method ?? 'GET',
        url.pathname,
        params,
        typeof idem === 'string' ? idem : undefined,
      );
      res.writeHead(200).end(JSON.stringify(out));
    } catch (err) {
      const e = err instanceof StripeError ? err : new StripeError(500, 'api_error', String(err));
      res.writeHead(e.status).end(
        JSON.stringify({
          error: {
            type: e.type,
            message: e.message,
            ...(e.code ? { code: e.code } : {}),
            ...(e.param ? { param: e.param } : {}),
          },
        }),
      );
    }
  }

  private readonly replayed = new Map<string, Obj>();

  private route(method: string, path: string, p: Obj, idem: string | undefined): Obj {
    if (method === 'POST' && idem && this.replayed.has(idem)) return this.replayed.get(idem)!;
    const remember = (o: Obj): Obj => {
      if (method === 'POST' && idem) this.replayed.set(idem, o);
      return o;
    };
    const now = Math.floor(Date.now() / 1000);
    if (method === 'POST' && path === '/v1/customers') {
      const customer: Obj = {
        id: id('cus'),
        object: 'customer',
        email: p.email ?? null,
        name: p.name ?? null,
        metadata: p.metadata ?? {},
        created: now,
        livemode: false,
      };
      this.customers.set(customer.id as string, customer);
      return remember(customer);
    }
    let m = /^\/v1\/customers\/([^/]+)$/.exec(path);
    if (method === 'GET' && m) return this.find(this.customers, m[1]!, 'customer');
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      if (p.mode !== 'subscription') {
        throw new StripeError(
          400,
          'invalid_request_error',
          'This fake only does subscriptions',
          undefined,
          'mode',
        );
      }
      const items = (p.line_items as Obj[] | undefined) ?? [];
      const price = items[0]?.price as string | undefined;
      if (!price || !this.prices.has(price)) {
        throw new StripeError(
          400,
          'invalid_request_error',
          `No such price: '${price}'`,
          'resource_missing',
          'line_items[0][price]',
        );
      }
      if (p.customer && !this.customers.has(p.customer as string)) {
        throw new StripeError(
          400,
          'invalid_request_error',
          `No such customer: '${p.customer as string}'`,
          'resource_missing',
          'customer',
        );
      }
      const sid = id('cs');
      const session: Obj = {
        id: sid,
        object: 'checkout.session',
        mode: 'subscription',
        customer: p.customer ?? null,
        client_reference_id: p.client_reference_id ?? null,
        metadata: p.metadata ?? {},
        subscription_data: p.subscription_data ?? {},
        line_items: items,
        success_url: p.success_url,
        cancel_url: p.cancel_url,
        status: 'open',
        payment_status: 'unpaid',
        subscription: null,
        url: `https://checkout.stripe.com/c/pay/${sid}`,
        created: now,
        livemode: false,
      };
      this.sessions.set(sid, session);
      const { subscription_data: _sd, line_items: _li, ...wire } = session;
      return remember(wire);
    }
    if (method === 'POST' && path === '/v1/billing_portal/sessions') {
      if (!p.customer || !this.customers.has(p.customer as string)) {
        throw new StripeError(
          400,
          'invalid_request_error',
          `No such customer: '${String(p.customer)}'`,
          'resource_missing',
          'customer',
        );
      }
      const bps = id('bps');
      return remember({
        id: bps,
        object: 'billing_portal.session',
        customer: p.customer,
        return_url: p.return_url ?? null,
        url: `https://billing.stripe.com/p/session/${bps}`,
        created: now,
        livemode: false,
      });
    }
    m = /^\/v1\/subscriptions\/([^/]+)$/.exec(path);
    if (method === 'GET' && m) return this.find(this.subscriptions, m[1]!, 'subscription');
    throw new StripeError(
      404,
      'invalid_request_error',
      `Unrecognized request URL (${method}: ${path}).`,
    );
  }

  private find(map: Map<string, Obj>, key: string, kind: string): Obj {
    const found = map.get(key);
    if (!found) {
      throw new StripeError(
        404,
        'invalid_request_error',
        `No such ${kind}: '${key}'`,
        'resource_missing',
        'id',
      );
    }
    return found;
  }
}
