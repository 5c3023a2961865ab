/**
 * Accounts configuration: auth mode, anonymous access, proxy trust, rate limits and plans.
 * Read from the environment by `loadConfig` (server/config.ts); every error names its variable.
 */
import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { envProblems } from '../env-schema.js';
import { parseStaticKeys, type StaticKey } from './static-keys.js';

/** A plan's limits; `null` means unlimited. */
export interface PlanLimits {
  /** resolve + query calls per UTC day (REST and MCP), hover lookups excluded. */
  queriesPerDay: number | null;
  /** Editor hover lookups per UTC day, counted apart from queries. */
  hoverPerDay: number | null;
  /** Chat model tokens per UTC calendar month. */
  chatTokensPerMonth: number | null;
  /** Private libraries the account may own. */
  privateLibraries: number | null;
  /** Requests per rate-limit window (TWINMCP_RATE_WINDOW_MS), per key. */
  requestsPerWindow: number | null;
}

export interface AccountsConfig {
  /** `off`: self-host, no keys asked (localhost safety only). `on`: hosted, keys and limits. */
  auth: 'off' | 'on';
  /** With auth on: whether calls without a key are served (public libraries only). */
  anonymous: 'allow' | 'deny';
  /** Fastify `trustProxy`: true, a hop count, or addresses/CIDRs of the load balancers. */
  trustProxy: boolean | number | string[];
  /** Rate-limit window in ms; 60 s by default (short in tests). */
  rateWindowMs: number;
  /** Plans by name; `anonymous` applies per IP to calls without a key. */
  plans: Record<string, PlanLimits>;
  /** The plan a new account gets. */
  defaultPlan: string;
  /**
   * Monthly list price per plan (`priceMonthly` in the plans file), for the operator's revenue
   * figures; plans without one count no revenue.
   */
  prices: Record<string, PlanPrice>;
  /** Fixed keys from TWINMCP_API_KEYS (server/accounts/static-keys.ts), synced at start. */
  staticKeys: StaticKey[];
  /** Sign-in and device-flow requests per IP address per 10 minutes (TWINMCP_SIGNIN_RATE_MAX). */
  signinRateMax: number;
}

/** A plan's monthly price in the currency's minor unit (cents), e.g. `{amount: 1500, currency: 'usd'}`. */
export interface PlanPrice {
  amount: number;
  currency: string;
}

const limit = z.number().int().nonnegative().nullable();
const PlanSchema = z
  .object({
    queriesPerDay: limit,
    hoverPerDay: limit,
    chatTokensPerMonth: limit,
    privateLibraries: limit,
    requestsPerWindow: limit,
    priceMonthly: z
      .object({
        amount: z.number().int().nonnegative(),
        currency: z.string().regex(/^[a-z]{3}$/, 'must be a lower-case ISO 4217 code like usd'),
      })
      .strict()
      .optional(),
  })
  .strict();
const PlansFileSchema = z
  .object({
    defaultPlan: z.string().min(1).optional(),
    plans: z.record(z.string().min(1), PlanSchema),
  })
  .strict();

/**
 * Built-in plans. Free covers an agent's normal day (a task is ~3-10 calls; 1,000 is ~100 tasks);
 * hover fires per symbol under the mouse, so it gets its own, larger allowance.
 */
export const DEFAULT_PLANS: Record<string, PlanLimits> = {
  anonymous: {
    queriesPerDay: 200,
    hoverPerDay: 0,
    chatTokensPerMonth: 0,
    privateLibraries: 0,
    requestsPerWindow: 30,
  },
  free: {
    queriesPerDay: 1000,
    hoverPerDay: 2000,
    chatTokensPerMonth: 200_000,
    privateLibraries: 1,
    requestsPerWindow: 60,
  },
  pro: {
    queriesPerDay: 20_000,
    hoverPerDay: 50_000,
    chatTokensPerMonth: 5_000_000,
    privateLibraries: 20,
    requestsPerWindow: 300,
  },
  team: {
    queriesPerDay: null,
    hoverPerDay: null,
    chatTokensPerMonth: 50_000_000,
    privateLibraries: 200,
    requestsPerWindow: 1000,
  },
};

const EnvSchema = z.object({
  TWINMCP_AUTH: z.enum(['off', 'on']).default('off'),
  TWINMCP_ANONYMOUS: z.enum(['allow', 'deny']).default('allow'),
  TWINMCP_TRUST_PROXY: z.string().trim().optional(),
  TWINMCP_RATE_WINDOW_MS: z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number of milliseconds')
    .default('60000')
    .transform(Number)
    .refine((n) => n >= 100, { message: 'must be at least 100' }),
  TWINMCP_PLANS_FILE: z.string().trim().optional(),
  TWINMCP_API_KEYS: z.string().trim().optional(),
  // 20 per 10 minutes: a person retrying a mistyped address several times stays well under it,
  // a script mailing magic links to a list of strangers does not.
  TWINMCP_SIGNIN_RATE_MAX: z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number (0 = no limit)')
    .default('20')
    .transform(Number),
});

/** Why the accounts configuration is invalid, naming the variable; server/config.ts rethrows it. */
export class AccountsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccountsConfigError';
  }
}

/** Reads the accounts settings from the environment; throws AccountsConfigError naming the variable. */
export function loadAccountsConfig(env: NodeJS.ProcessEnv): AccountsConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = envProblems(parsed.error);
    throw new AccountsConfigError(problems.join('; '));
  }
  const e = parsed.data;
  const file = e.TWINMCP_PLANS_FILE ? readPlansFile(e.TWINMCP_PLANS_FILE) : undefined;
  const plans = file?.plans ?? { ...DEFAULT_PLANS };
  const defaultPlan = file?.defaultPlan ?? 'free';
  if (!plans[defaultPlan]) {
    throw new AccountsConfigError(
      `TWINMCP_PLANS_FILE: defaultPlan "${defaultPlan}" is not a plan in the file`,
    );
  }
  if (!plans.anonymous) plans.anonymous = DEFAULT_PLANS.anonymous!;
  let staticKeys: StaticKey[];
  try {
    staticKeys = parseStaticKeys(e.TWINMCP_API_KEYS);
  } catch (err) {
    throw new AccountsConfigError(`TWINMCP_API_KEYS: ${(err as Error).message}`);
  }
  return {
    auth: e.TWINMCP_AUTH,
    anonymous: e.TWINMCP_ANONYMOUS,
    trustProxy: parseTrustProxy(e.TWINMCP_TRUST_PROXY),
    rateWindowMs: e.TWINMCP_RATE_WINDOW_MS,
    plans,
    defaultPlan,
    prices: file?.prices ?? {},
    staticKeys,
    signinRateMax: e.TWINMCP_SIGNIN_RATE_MAX,
  };
}

/** `true`/`false`, a hop count, or a comma list of addresses and CIDRs. */
function parseTrustProxy(raw: string | undefined): boolean | number | string[] {
  if (!raw || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of list) {
    if (
      !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(item) &&
      !['loopback', 'linklocal', 'uniquelocal'].includes(item)
    ) {
      throw new AccountsConfigError(
        `TWINMCP_TRUST_PROXY: "${item}" is not true, false, a hop count, an address or a CIDR`,
      );
    }
  }
  return list;
}

function readPlansFile(file: string): {
  plans: Record<string, PlanLimits>;
  prices: Record<string, PlanPrice>;
  defaultPlan?: string;
} {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new AccountsConfigError(
      `TWINMCP_PLANS_FILE: cannot read ${file}: ${(err as Error).message}`,
    );
  }
  let data: unknown;
  try {
    data = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new AccountsConfigError(
      `TWINMCP_PLANS_FILE: ${file} is not valid: ${(err as Error).message}`,
    );
  }
  const result = PlansFileSchema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) => `${i.path.join('.') || '(root)'}: ${i.message}`,
    );
    throw new AccountsConfigError(`TWINMCP_PLANS_FILE: ${file}: ${problems.join('; ')}`);
  }
  const plans: Record<string, PlanLimits> = {};
  const prices: Record<string, PlanPrice> = {};
  for (const [name, { priceMonthly, ...limits }] of Object.entries(result.data.plans)) {
    plans[name] = limits;
    if (priceMonthly) prices[name] = priceMonthly;
  }
  return {
    plans,
    prices,
    ...(result.data.defaultPlan ? { defaultPlan: result.data.defaultPlan } : {}),
  };
}

/** The limits of a plan; an unknown plan name (removed from the file) falls back to the default plan's. */
export function planLimits(config: AccountsConfig, plan: string | null): PlanLimits {
  if (plan === null) return config.plans.anonymous ?? DEFAULT_PLANS.anonymous!;
  return config.plans[plan] ?? config.plans[config.defaultPlan] ?? DEFAULT_PLANS.free!;
}
