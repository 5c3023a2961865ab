/** The Stripe SDK client for a billing configuration (Stripe itself, or a compatible server). */
import Stripe from 'stripe';
import type { BillingConfig } from './config.js';

/**
 * A Stripe client. `apiUrl` (tests, stripe-mock) maps onto the SDK's host/port/protocol options;
 * everything else is the SDK's default, including its pinned API version.
 */
export function createStripeClient(cfg: BillingConfig): Stripe {
  const base = cfg.apiUrl ? new URL(cfg.apiUrl) : undefined;
  return new Stripe(cfg.secretKey, {
    // Two retries with the SDK's backoff ride out a blip; Stripe's p99 is well under 20 s.
    maxNetworkRetries: 2,
    timeout: 20_000,
    telemetry: false,
    appInfo: { name: 'TwinMCP' },
    ...(base
      ? {
          host: base.hostname,
          port: base.port || (base.protocol === 'https:' ? 443 : 80),
          protocol: base.protocol === 'https:' ? ('https' as const) : ('http' as const),
        }
      : {}),
  });
}
