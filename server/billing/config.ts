/**
 * Stripe billing configuration. Billing is on when STRIPE_SECRET_KEY is set; then the webhook
 * secret and at least one plan price are required, so a deployment cannot take money without
 * being able to hear about it.
 */
import { z } from 'zod';
import { optionalText, envProblems } from '../env-schema.js';

export interface BillingConfig {
  secretKey: string;
  webhookSecret: string;
  /** Plan name -> Stripe price id, in rising rank (the last is the best plan). */
  prices: { plan: string; priceId: string }[];
  /** The plan of an account without an entitling subscription. */
  freePlan: string;
  /** Where Checkout and the billing portal send the customer back to. */
  returnUrl: string;
  /** API base for a Stripe-compatible server (tests, stripe-mock); unset = Stripe's own. */
  apiUrl?: string;
}

const BillingEnv = z.object({
  STRIPE_SECRET_KEY: optionalText.refine((s) => s === undefined || /^(sk|rk)_\S+$/.test(s), {
    message: 'must be a Stripe secret or restricted key (sk_... or rk_...)',
  }),
  STRIPE_WEBHOOK_SECRET: optionalText.refine((s) => s === undefined || /^whsec_\S+$/.test(s), {
    message: 'must be a webhook signing secret (whsec_...)',
  }),
  TWINMCP_STRIPE_PRICES: optionalText.refine(
    (s) => s === undefined || parsePrices(s) !== undefined,
    {
      message: 'must be plan=price_id pairs separated by commas, e.g. pro=price_123,team=price_456',
    },
  ),
  TWINMCP_BILLING_FREE_PLAN: optionalText,
  TWINMCP_BILLING_RETURN_URL: optionalText.refine(
    (s) => s === undefined || /^https?:\/\/\S+$/.test(s),
    { message: 'must be an http:// or https:// URL' },
  ),
  TWINMCP_STRIPE_API_URL: optionalText.refine(
    (s) => s === undefined || /^https?:\/\/[^/\s]+\/?$/.test(s),
    { message: 'must be a base URL like http://127.0.0.1:12111' },
  ),
});

function parsePrices(raw: string): { plan: string; priceId: string }[] | undefined {
  const pairs = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((pair) => /^([a-z0-9_-]+)=(price_\S+)$/i.exec(pair));
  if (pairs.length === 0 || pairs.some((m) => m === null)) return undefined;
  return pairs.map((m) => ({ plan: m![1]!, priceId: m![2]! }));
}

/**
 * Reads the billing variables; `config` is undefined when billing is off. `plans` are the
 * configured plan names (server/accounts/config.ts): every priced plan must be one of them.
 */
export function loadBillingConfig(
  env: NodeJS.ProcessEnv,
  publicUrl: string,
  plans: { names: string[]; defaultPlan: string },
): { config?: BillingConfig; problems: string[] } {
  const parsed = BillingEnv.safeParse(env);
  if (!parsed.success) {
    return { problems: envProblems(parsed.error) };
  }
  const e = parsed.data;
  if (!e.STRIPE_SECRET_KEY) return { problems: [] };
  const problems: string[] = [];
  if (!e.STRIPE_WEBHOOK_SECRET) {
    problems.push('STRIPE_WEBHOOK_SECRET: required when STRIPE_SECRET_KEY is set');
  }
  if (!e.TWINMCP_STRIPE_PRICES) {
    problems.push('TWINMCP_STRIPE_PRICES: required when STRIPE_SECRET_KEY is set');
  }
  const prices = e.TWINMCP_STRIPE_PRICES ? parsePrices(e.TWINMCP_STRIPE_PRICES)! : [];
  const freePlan = e.TWINMCP_BILLING_FREE_PLAN ?? plans.defaultPlan;
  for (const plan of [...prices.map((p) => p.plan), freePlan]) {
    if (!plans.names.includes(plan)) {
      const name = plan === freePlan ? 'TWINMCP_BILLING_FREE_PLAN' : 'TWINMCP_STRIPE_PRICES';
      problems.push(`${name}: unknown plan "${plan}" (plans: ${plans.names.join(', ')})`);
    }
  }
  if (problems.length > 0 || !e.STRIPE_WEBHOOK_SECRET || !e.TWINMCP_STRIPE_PRICES) {
    return { problems };
  }
  return {
    problems,
    config: {
      secretKey: e.STRIPE_SECRET_KEY,
      webhookSecret: e.STRIPE_WEBHOOK_SECRET,
      prices,
      freePlan,
      returnUrl: e.TWINMCP_BILLING_RETURN_URL ?? `${publicUrl}/signin`,
      ...(e.TWINMCP_STRIPE_API_URL ? { apiUrl: e.TWINMCP_STRIPE_API_URL.replace(/\/$/, '') } : {}),
    },
  };
}
