/**
 * Stripe billing routes: checkout and portal for the signed-in account (session cookie or API
 * key), and the webhook in its own encapsulated plugin whose only body parser keeps the raw
 * bytes, since the signature covers the exact bytes Stripe sent.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import Stripe from 'stripe';
import { z } from 'zod';
import type { SigninConfig } from '../accounts/signin-config.js';
import { openPortal, startCheckout } from '../billing/checkout.js';
import type { BillingConfig } from '../billing/config.js';
import { createStripeClient } from '../billing/stripe-client.js';
import { processStripeEvent } from '../billing/webhook.js';
import { EngineError } from '../engine-types.js';
import { verifyApiKey } from '../accounts/keys.js';
import { GET_A_KEY, presentedKey } from './auth.js';
import { sendError } from './errors.js';
import { WebSessions } from './routes-signin-web.js';

export interface BillingRoutesOptions {
  signin: SigninConfig;
  billing: BillingConfig;
  /** A client to use instead of one made from `billing` (tests may pass their own). */
  stripe?: Stripe;
}

const CheckoutBody = z.object({ plan: z.string().trim().min(1).max(64) });
const UrlResponse = z.object({ url: z.string() });

// Stripe events are usually a few KB; an invoice with many lines can reach a few hundred KB.
const WEBHOOK_BODY_LIMIT = 1024 * 1024;

/** `POST /billing/checkout`, `/billing/portal` and `/billing/webhook`; prefix `/api/v1`. */
export const billingRoutes: FastifyPluginAsync<BillingRoutesOptions> = async (app, opts) => {
  const stripe = opts.stripe ?? createStripeClient(opts.billing);
  // Not `...opts`: that would pass the `prefix` on and apply it twice.
  const child = { signin: opts.signin, billing: opts.billing, stripe };
  await app.register(accountBillingRoutes, child);
  await app.register(stripeWebhookRoutes, child);
};

const accountBillingRoutes: FastifyPluginAsyncZod<
  BillingRoutesOptions & { stripe: Stripe }
> = async (app, opts) => {
  const sessions = new WebSessions(opts.signin, () => app.engine.db);

  // An API key or a browser session. The routes are `auth: 'none'` so that a session alone gets
  // in even with TWINMCP_ANONYMOUS=deny; a key, when sent, is checked here instead. The session
  // cookie is SameSite=Lax and these routes take JSON, so another site cannot post with it.
  const accountId = async (request: FastifyRequest): Promise<string> => {
    if (request.account) return request.account.id;
    const key = presentedKey(request);
    if (key !== undefined) {
      const verified = await verifyApiKey(app.engine.db, key);
      if (!verified)
        throw new EngineError('invalid_api_key', `The API key is not valid. ${GET_A_KEY}`);
      return verified.account.id;
    }
    const session = await sessions.session(request);
    if (!session)
      throw new EngineError('invalid_api_key', `Sign in or send an API key. ${GET_A_KEY}`);
    return session.accountId;
  };

  // Stripe refusing a call (unknown price, revoked key) is the operator's problem, not the
  // caller's: 502 with Stripe's message, which names the parameter at fault.
  app.setErrorHandler((err, request, reply) => {
    if (!(err instanceof Stripe.errors.StripeError)) throw err;
    request.log.error({ err }, 'Stripe request failed');
    return sendError(reply, 502, 'internal_error', `Stripe refused the request: ${err.message}`);
  });

  app.post(
    '/billing/checkout',
    { config: { auth: 'none' }, schema: { body: CheckoutBody, response: { 200: UrlResponse } } },
    async (request) => {
      const id = await accountId(request);
      return {
        url: await startCheckout(app.engine.db, opts.stripe, opts.billing, id, request.body.plan),
      };
    },
  );

  const portalOpts = {
    config: { auth: 'none' as const },
    schema: { response: { 200: UrlResponse } },
  };
  app.post('/billing/portal', portalOpts, async (request) => {
    const id = await accountId(request);
    return { url: await openPortal(app.engine.db, opts.stripe, opts.billing, id) };
  });
};

const stripeWebhookRoutes: FastifyPluginAsync<BillingRoutesOptions & { stripe: Stripe }> = async (
  app,
  opts,
) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT },
    (_request, body, done) => done(null, body),
  );

  // Stripe signs instead of sending a key.
  app.post('/billing/webhook', { config: { auth: 'none' } }, async (request, reply) => {
    const signature = request.headers['stripe-signature'];
    if (typeof signature !== 'string' || !Buffer.isBuffer(request.body)) {
      return sendError(
        reply,
        400,
        'validation_error',
        'Expected a Stripe event with a Stripe-Signature header',
      );
    }
    let event: Stripe.Event;
    try {
      event = opts.stripe.webhooks.constructEvent(
        request.body,
        signature,
        opts.billing.webhookSecret,
      );
    } catch (err) {
      request.log.warn({ err }, 'Stripe webhook with a bad signature');
      return sendError(
        reply,
        400,
        'validation_error',
        `Invalid Stripe signature: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const outcome = await processStripeEvent(app.engine.db, opts.stripe, opts.billing, event);
    request.log.info({ eventId: event.id, type: event.type, ...outcome }, 'Stripe event');
    return { received: true, duplicate: outcome.duplicate };
  });
};
