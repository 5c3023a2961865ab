/**
 * The configuration file (`--config FILE` or `TWINMCP_CONFIG`): YAML or JSON with the same keys
 * as the environment variables. Its values fill in the variables the environment leaves unset
 * (the environment wins, so one secret can come from a secret store while the rest sits in the
 * file), before anything reads them; validation is then the usual one (server/config.ts and the
 * areas' modules), with the file named in the errors.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../config.js';

/**
 * Every variable TwinMCP reads. A key outside this list is a typo (or a setting from another
 * version) and fails the start; test/server/ops-config.test.ts checks the list against server/.
 */
export const KNOWN_SETTINGS: readonly string[] = [
  'DATABASE_URL',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'OPENAI_PRICES',
  'ANTHROPIC_API_KEY',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  ...[
    'ALLOWED_HOSTS',
    'ALLOWED_ORIGINS',
    'ANONYMOUS',
    'API_KEY',
    'API_KEYS',
    'AUTH',
    'BILLING_FREE_PLAN',
    'BILLING_RETURN_URL',
    'CHAT_BASE_URL',
    'CHAT_CONTEXT_TOKENS',
    'CHAT_IDLE_TIMEOUT_MS',
    'CHAT_MAX_OUTPUT_TOKENS',
    'CHAT_MAX_RETRIES',
    'CHAT_MODEL',
    'CHAT_PROVIDER',
    'CHAT_TIMEOUT_MS',
    'DATA_DIR',
    'DEBUG',
    'DEVICE_CODE_TTL_SECONDS',
    'DEVICE_POLL_INTERVAL_SECONDS',
    'EMBEDDINGS_API_KEY',
    'EMBEDDINGS_BASE_URL',
    'EMBEDDINGS_BATCH_SIZE',
    'EMBEDDINGS_CONCURRENCY',
    'EMBEDDINGS_DIMENSIONS',
    'EMBEDDINGS_MAX_RETRIES',
    'EMBEDDINGS_MODEL',
    'EMBEDDINGS_PRICE_PER_MILLION',
    'EMBEDDINGS_PROVIDER',
    'EMBEDDINGS_QUERY_TIMEOUT_MS',
    'EMBEDDINGS_TIMEOUT_MS',
    'FETCH_ALLOW_HOSTS',
    'FETCH_PRIVATE',
    'GITHUB_API_URL',
    'GITHUB_CLIENT_ID',
    'GITHUB_CLIENT_SECRET',
    'GITHUB_URL',
    'HOST',
    'HYBRID_FUSION',
    'HYBRID_LEXICAL_WEIGHT',
    'HYBRID_MIN_SIMILARITY',
    'HYBRID_MMR_LAMBDA',
    'HYBRID_RRF_K',
    'HYBRID_VECTOR_CANDIDATES',
    'HYBRID_VECTOR_WEIGHT',
    'IP_HASH_SECRET',
    'JOB_BACKOFF_MS',
    'JOB_CONCURRENCY',
    'JOB_LEASE_MS',
    'JOB_MAX_ATTEMPTS',
    'LOG_LEVEL',
    'MAIL_FROM',
    'METRICS_TOKEN',
    'NPM_REGISTRY',
    'OIDC_CLIENT_ID',
    'OIDC_CLIENT_SECRET',
    'OIDC_ISSUER',
    'OIDC_LABEL',
    'PLANS_FILE',
    'PORT',
    'PUBLIC_URL',
    'RATE_WINDOW_MS',
    'READY_TIMEOUT_MS',
    'REFRESH_HOURS',
    'SESSION_SECRET',
    'SESSION_TTL_DAYS',
    'SHUTDOWN_TIMEOUT_MS',
    'SIGNIN_RATE_MAX',
    'SMTP_URL',
    'STRIPE_API_URL',
    'STRIPE_PRICES',
    'TRUST_PROXY',
    'USAGE_RETENTION_DAYS',
    'WEB_CONCURRENCY',
    'WEB_DELAY_MS',
    'WEB_MAX_DEPTH',
    'WEB_MAX_PAGES',
    'WEB_MAX_PAGE_BYTES',
    'WEB_TIMEOUT_MS',
  ].map((name) => `TWINMCP_${name}`),
];

const KNOWN = new Set(KNOWN_SETTINGS);

/** What a file contributed: the keys it set that the environment did not. */
export interface AppliedConfigFile {
  file: string;
  keys: string[];
}

/** Reads `file` and sets its values into `env` where unset; throws ConfigError naming file + key. */
export function applyConfigFile(file: string, env: NodeJS.ProcessEnv): AppliedConfigFile {
  const absolute = path.resolve(file);
  const values = readSettings(absolute);
  const keys: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (env[key] !== undefined) continue;
    env[key] = value;
    keys.push(key);
  }
  return { file: absolute, keys };
}

function readSettings(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new ConfigError(
      `Invalid configuration file ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  let data: unknown;
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both; .json files parse strictly.
    data = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const first = (err as Error).message.split('\n')[0];
    throw new ConfigError(`Invalid configuration file ${file}: not valid YAML or JSON: ${first}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(
      `Invalid configuration file ${file}: expected a mapping of settings (TWINMCP_PORT: 7377, ...)`,
    );
  }
  const problems: string[] = [];
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (!KNOWN.has(key)) {
      const near = closest(key);
      problems.push(`${key}: unknown setting${near ? ` (did you mean ${near}?)` : ''}`);
      continue;
    }
    const text = settingText(value);
    if (text === undefined) {
      problems.push(`${key}: must be a string, number, boolean or list of strings`);
      continue;
    }
    out[key] = text;
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration file ${file}: ${problems.join('; ')}`);
  }
  return out;
}

// Lists become the comma-separated form the variables take (TWINMCP_ALLOWED_HOSTS: [a, b]).
function settingText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return '';
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) {
    return value.join(',');
  }
  return undefined;
}

/**
 * `err` with each setting the file provided named with the file, since the variable is not
 * in the environment where the operator would look for it first.
 */
export function withFileOrigin(err: ConfigError, applied: AppliedConfigFile): ConfigError {
  let message = err.message;
  for (const key of applied.keys) {
    message = message.replace(
      new RegExp(`(^|[:;]\\s)${key}(?=:)`, 'g'),
      `$1${key} (in ${applied.file})`,
    );
  }
  return message === err.message ? err : new ConfigError(message);
}

function closest(key: string): string | undefined {
  const upper = key.toUpperCase();
  let best: string | undefined;
  let bestDistance = 3; // more than 2 edits away is another word, not a typo
  for (const known of KNOWN_SETTINGS) {
    const d = distance(upper, known);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
