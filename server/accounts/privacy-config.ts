/**
 * Privacy settings: how long usage events are kept, and the secret that keys IP address hashes.
 * Read by `loadConfig` (server/config.ts); every error names its variable.
 */
import { z } from 'zod';
import { envProblems, optionalText, wholeNumber } from '../env-schema.js';

export interface PrivacyConfig {
  /** Usage events older than this many days are deleted (at start, then daily); 0 = kept forever. */
  usageRetentionDays: number;
  /** Key of the IP address hashes; unset = a pepper generated once and kept in the database. */
  ipHashSecret?: string;
}

const PrivacyEnv = z.object({
  // 90 days: a quarter of trends for the operator, little history to leak.
  TWINMCP_USAGE_RETENTION_DAYS: wholeNumber('90', 0, 3650),
  TWINMCP_IP_HASH_SECRET: optionalText.refine((s) => s === undefined || s.length >= 16, {
    message: 'must be at least 16 characters',
  }),
});

/** Reads the privacy variables; `problems` name the variable of each invalid one. */
export function loadPrivacyConfig(env: NodeJS.ProcessEnv): {
  config?: PrivacyConfig;
  problems: string[];
} {
  const parsed = PrivacyEnv.safeParse(env);
  if (!parsed.success) return { problems: envProblems(parsed.error) };
  const e = parsed.data;
  return {
    config: {
      usageRetentionDays: e.TWINMCP_USAGE_RETENTION_DAYS,
      ...(e.TWINMCP_IP_HASH_SECRET ? { ipHashSecret: e.TWINMCP_IP_HASH_SECRET } : {}),
    },
    problems: [],
  };
}
