/**
 * Process configuration from environment variables, validated once at start-up so that a typo
 * fails loudly with the variable's name instead of surfacing later as a strange bind or path.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { envProblems } from './env-schema.js';
import pkg from '../package.json' with { type: 'json' };
import { parseChatConfig, type ChatConfig } from './chat/config.js';
import { parseEmbeddingsConfig, type EmbeddingsConfig } from './embeddings/config.js';
import { loadSigninConfig, type SigninConfig } from './accounts/signin-config.js';
import { loadBillingConfig, type BillingConfig } from './billing/config.js';
import { AccountsConfigError, loadAccountsConfig, type AccountsConfig } from './accounts/config.js';
import { loadPrivacyConfig, type PrivacyConfig } from './accounts/privacy-config.js';
import { parseOpsConfig, type OpsConfig } from './ops/config.js';

/** The package version, reported by `/health` and `twinmcp --version`. */
export const VERSION: string = pkg.version;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  /** Embedded database directory (PGlite). */
  dataDir: string;
  /** PostgreSQL server URL; when set the engine uses it instead of the embedded database. */
  databaseUrl?: string;
  host: string;
  port: number;
  /** Host names (optionally `name:port`) accepted in the Host header when bound off loopback. */
  allowedHosts: string[];
  /** Exact origins (`https://app.example.com`) accepted in the Origin header besides loopback. */
  allowedOrigins: string[];
  /**
   * `<dataDir>.lock`, beside the data directory rather than inside it: the engine owns the
   * directory's contents, and a shared `../twinmcp.lock` would make two data directories with the
   * same parent block each other.
   */
  lockFile: string;
  logLevel: LogLevel;
  /**
   * Refresh interval of an unused library in hours (popular ones refresh sooner, see
   * server/indexing/refresh-scheduler.ts); 0 turns the scheduler off. Absent = off.
   */
  refreshHours?: number;
  /** Chat model provider and limits (server/chat/config.ts). */
  chat: ChatConfig;
  /** Auth mode, plans and rate limits (server/accounts/config.ts); absent = auth off. */
  accounts?: AccountsConfig;
  /** Web sign-in and the device flow (server/accounts/signin-config.ts). */
  signin: SigninConfig;
  /** Stripe billing; undefined when STRIPE_SECRET_KEY is unset (server/billing/config.ts). */
  billing?: BillingConfig;
  /** Embedding provider and hybrid fusion (server/embeddings/config.ts); provider 'none' = lexical. */
  embeddings: EmbeddingsConfig;
  /** Usage-event retention and the IP hash key (server/accounts/privacy-config.ts). */
  privacy?: PrivacyConfig;
  /** /metrics access, /ready and shutdown timeouts (server/ops/config.ts); absent = defaults. */
  ops?: OpsConfig;
}

const list = z
  .string()
  .optional()
  .transform((raw) =>
    (raw ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );

const nonEmpty = z.string().trim().min(1);

// Keyed by variable name so that an issue's path names the variable directly.
const EnvSchema = z.object({
  TWINMCP_DATA_DIR: nonEmpty.optional(),
  DATABASE_URL: z
    .string()
    .trim()
    .optional()
    .transform((s) => (s ? s : undefined))
    .refine((s) => s === undefined || /^postgres(ql)?:\/\//.test(s), {
      message: 'must be a postgres:// or postgresql:// URL',
    }),
  TWINMCP_HOST: nonEmpty.default('127.0.0.1'),
  TWINMCP_PORT: z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .default('7377')
    .transform(Number)
    .refine((n) => n <= 65535, { message: 'must be at most 65535' }),
  TWINMCP_ALLOWED_HOSTS: list,
  TWINMCP_ALLOWED_ORIGINS: list,
  TWINMCP_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  // A week: docs change with releases, and popular libraries are refreshed up to 28x as often.
  TWINMCP_REFRESH_HOURS: z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, 'must be a number of hours (0 = off)')
    .default('168')
    .transform(Number),
});

/** Thrown for an invalid environment variable; the message names the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the configuration; throws ConfigError naming the bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = envProblems(parsed.error);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const chat = parseChatConfig(env);
  if ('problems' in chat) {
    throw new ConfigError(`Invalid configuration: ${chat.problems.join('; ')}`);
  }
  const embeddings = parseEmbeddingsConfig(env);
  if ('problems' in embeddings) {
    throw new ConfigError(`Invalid configuration: ${embeddings.problems.join('; ')}`);
  }
  const ops = parseOpsConfig(env);
  if ('problems' in ops) {
    throw new ConfigError(`Invalid configuration: ${ops.problems.join('; ')}`);
  }
  const dataDir = path.resolve(e.TWINMCP_DATA_DIR ?? path.join(os.homedir(), '.twinmcp', 'data'));
  for (const origin of e.TWINMCP_ALLOWED_ORIGINS) {
    if (!isOrigin(origin)) {
      throw new ConfigError(
        `Invalid configuration: TWINMCP_ALLOWED_ORIGINS: "${origin}" is not an origin like https://app.example.com`,
      );
    }
  }
  let accounts: AccountsConfig;
  try {
    accounts = loadAccountsConfig(env);
  } catch (err) {
    if (err instanceof AccountsConfigError)
      throw new ConfigError(`Invalid configuration: ${err.message}`);
    throw err;
  }
  const hostInUrl = e.TWINMCP_HOST.includes(':') ? `[${e.TWINMCP_HOST}]` : e.TWINMCP_HOST;
  const ownUrl = `http://${hostInUrl}:${e.TWINMCP_PORT}`;
  const signin = loadSigninConfig(env, ownUrl);
  const billing = loadBillingConfig(env, signin.config?.publicUrl ?? ownUrl, {
    names: Object.keys(accounts.plans),
    defaultPlan: accounts.defaultPlan,
  });
  const privacy = loadPrivacyConfig(env);
  const problems = [...signin.problems, ...billing.problems, ...privacy.problems];
  if (!signin.config || problems.length > 0) {
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return {
    dataDir,
    ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL } : {}),
    host: e.TWINMCP_HOST,
    port: e.TWINMCP_PORT,
    allowedHosts: e.TWINMCP_ALLOWED_HOSTS.map((h) => h.toLowerCase()),
    allowedOrigins: e.TWINMCP_ALLOWED_ORIGINS.map((o) => o.toLowerCase()),
    lockFile: `${dataDir}.lock`,
    logLevel: e.TWINMCP_LOG_LEVEL,
    refreshHours: e.TWINMCP_REFRESH_HOURS,
    chat: chat.config,
    embeddings: embeddings.config,
    accounts,
    signin: signin.config,
    ...(billing.config ? { billing: billing.config } : {}),
    ...(privacy.config ? { privacy: privacy.config } : {}),
    ops: ops.config,
  };
}

function isOrigin(value: string): boolean {
  try {
    const u = new URL(value);
    return u.origin !== 'null' && u.origin === value.toLowerCase().replace(/\/$/, '');
  } catch {
    return false;
  }
}
