/**
 * Account REST contract (`/api/v1/account…`, `/api/v1/admin/usage`): the account, its plan and
 * quota state, its API keys, and the operator's usage view.
 */
import { z } from 'zod';

/** How a request may identify its account; `X-API-Key` is the alternative to Bearer. */
export const API_KEY_HEADER = 'x-api-key';
/** Set by the VS Code extension on hover lookups, which count against their own quota. */
export const CLIENT_HEADER = 'x-twinmcp-client';

export const PlanLimits = z.object({
  queriesPerDay: z.number().nullable(),
  hoverPerDay: z.number().nullable(),
  chatTokensPerMonth: z.number().nullable(),
  privateLibraries: z.number().nullable(),
  requestsPerWindow: z.number().nullable(),
});
export type PlanLimits = z.infer<typeof PlanLimits>;

export const AccountInfo = z.object({
  id: z.string(),
  email: z.string().nullable(),
  name: z.string(),
  plan: z.string(),
  isAdmin: z.boolean(),
  createdAt: z.string(),
});
export type AccountInfo = z.infer<typeof AccountInfo>;

export const AccountResponse = z.object({
  account: AccountInfo,
  plan: z.object({ name: z.string(), limits: PlanLimits }),
  /** The key this request used. */
  keyId: z.string(),
});
export type AccountResponse = z.infer<typeof AccountResponse>;

export const QuotaName = z.enum(['queries', 'hover', 'chatTokens', 'privateLibraries']);
export type QuotaName = z.infer<typeof QuotaName>;

export const QuotaState = z.object({
  quota: QuotaName,
  used: z.number(),
  /** null = unlimited. */
  limit: z.number().nullable(),
  /** ISO time the window ends; null for totals that do not reset (private libraries). */
  resetsAt: z.string().nullable(),
});
export type QuotaState = z.infer<typeof QuotaState>;

export const DailyUsage = z.object({
  /** UTC day, YYYY-MM-DD. */
  date: z.string(),
  queries: z.number(),
  hover: z.number(),
  tokens: z.number(),
});
export type DailyUsage = z.infer<typeof DailyUsage>;

export const UsageResponse = z.object({
  plan: z.string(),
  quotas: z.array(QuotaState),
  /** The last 30 UTC days, oldest first, days without calls included as zeros. */
  daily: z.array(DailyUsage),
});
export type UsageResponse = z.infer<typeof UsageResponse>;

export const ApiKeyInfo = z.object({
  id: z.string(),
  prefix: z.string(),
  name: z.string(),
  admin: z.boolean(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type ApiKeyInfo = z.infer<typeof ApiKeyInfo>;

export const KeysResponse = z.object({ keys: z.array(ApiKeyInfo) });
export type KeysResponse = z.infer<typeof KeysResponse>;

export const CreateKeyBody = z.object({
  name: z.string().trim().min(1).max(100),
  /** Only an admin account may create admin keys. */
  admin: z.boolean().optional(),
});
export type CreateKeyBody = z.infer<typeof CreateKeyBody>;

export const CreatedKeyResponse = z.object({
  key: ApiKeyInfo,
  /** The secret, shown this once: it is stored only as a hash. */
  secret: z.string(),
});
export type CreatedKeyResponse = z.infer<typeof CreatedKeyResponse>;

export const AdminUsageQuery = z.object({
  days: z.coerce.number().int().min(1).max(365).default(30),
});

export const AdminUsageResponse = z.object({
  since: z.string(),
  topLibraries: z.array(z.object({ libraryId: z.string(), calls: z.number() })),
  zeroResultQueries: z.array(
    z.object({
      query: z.string(),
      kind: z.string(),
      libraryId: z.string().nullable(),
      count: z.number(),
    }),
  ),
  clients: z.array(z.object({ client: z.string(), calls: z.number() })),
  latency: z.object({ p50: z.number().nullable(), p95: z.number().nullable() }),
  activeAccounts: z.number(),
});
export type AdminUsageResponse = z.infer<typeof AdminUsageResponse>;

export const AdminAnalyticsQuery = z.object({
  days: z.coerce.number().int().min(1).max(365).default(30),
});
export type AdminAnalyticsQuery = z.infer<typeof AdminAnalyticsQuery>;

export const AnalyticsDay = z.object({
  /** UTC day, YYYY-MM-DD. */
  date: z.string(),
  calls: z.number(),
  /** Distinct accounts with at least one event that day. */
  activeAccounts: z.number(),
});
export type AnalyticsDay = z.infer<typeof AnalyticsDay>;

export const PlanRevenue = z.object({
  plan: z.string(),
  /** Stripe subscriptions in status `active` on this plan. */
  subscriptions: z.number(),
  /** The plan's configured monthly price in minor units (cents); null when none is configured. */
  priceMonthly: z.number().nullable(),
  currency: z.string().nullable(),
  /** subscriptions x priceMonthly, in minor units; 0 without a price. */
  monthlyRevenue: z.number(),
});
export type PlanRevenue = z.infer<typeof PlanRevenue>;

/** `GET /api/v1/admin/analytics`: the operator's view over the last `days` UTC days. */
export const AdminAnalyticsResponse = AdminUsageResponse.extend({
  days: z.number(),
  /** One entry per UTC day of the window, oldest first, days without events as zeros. */
  daily: z.array(AnalyticsDay),
  revenueByPlan: z.array(PlanRevenue),
  accountsByPlan: z.array(z.object({ plan: z.string(), accounts: z.number() })),
});
export type AdminAnalyticsResponse = z.infer<typeof AdminAnalyticsResponse>;

/** `GET /api/v1/admin/analytics/charts`: the analytics drawn as SVG bar charts (admin page). */
export const AdminChartsResponse = z.object({
  charts: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      /** SVG markup from shared/svg-chart.ts: every text escaped, no script, no handlers. */
      svg: z.string(),
    }),
  ),
});
export type AdminChartsResponse = z.infer<typeof AdminChartsResponse>;

/** `GET/PATCH /api/v1/account/settings`: the account's privacy choices. */
export const AccountSettings = z
  .object({
    /** false: usage events of this account keep no query text (past ones are cleared too). */
    keepQueryText: z.boolean(),
  })
  .strict();
export type AccountSettings = z.infer<typeof AccountSettings>;
