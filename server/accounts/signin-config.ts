/**
 * Sign-in configuration (email magic link, OpenID Connect, GitHub, sessions, device flow) from
 * environment variables. Each method is on when its variables are set; a half-configured method
 * fails at start-up naming the missing variable.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { wholeNumber, optionalText, envProblems } from '../env-schema.js';

export interface OidcConfig {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Button label, e.g. "Google". */
  label: string;
}

export interface GithubConfig {
  clientId: string;
  clientSecret: string;
  /** Where /login/oauth/* lives: https://github.com (or a GitHub Enterprise host, or a test fake). */
  webUrl: string;
  /** Where /user and /user/emails live: https://api.github.com. */
  apiUrl: string;
}

export interface SigninConfig {
  /** The server's public base URL (no trailing slash): links in mail and OAuth redirect URIs. */
  publicUrl: string;
  /** HMAC key for cookie signatures and CSRF tokens. */
  sessionSecret: string;
  /** True when TWINMCP_SESSION_SECRET was not set and a per-process secret is in use. */
  sessionSecretGenerated: boolean;
  sessionTtlMs: number;
  smtp?: { url: string; from: string };
  oidc?: OidcConfig;
  github?: GithubConfig;
  device: { ttlSeconds: number; intervalSeconds: number };
}

const httpUrl = optionalText.refine((s) => s === undefined || /^https?:\/\/[^\s]+$/.test(s), {
  message: 'must be an http:// or https:// URL',
});

const SigninEnv = z.object({
  TWINMCP_PUBLIC_URL: httpUrl,
  TWINMCP_SESSION_SECRET: optionalText.refine((s) => s === undefined || s.length >= 32, {
    message: 'must be at least 32 characters',
  }),
  TWINMCP_SESSION_TTL_DAYS: wholeNumber('30', 1, 365),
  TWINMCP_SMTP_URL: optionalText.refine((s) => s === undefined || /^smtps?:\/\/\S+$/.test(s), {
    message: 'must be an smtp:// or smtps:// URL',
  }),
  TWINMCP_MAIL_FROM: optionalText,
  TWINMCP_OIDC_ISSUER: httpUrl,
  TWINMCP_OIDC_CLIENT_ID: optionalText,
  TWINMCP_OIDC_CLIENT_SECRET: optionalText,
  TWINMCP_OIDC_LABEL: optionalText,
  TWINMCP_GITHUB_CLIENT_ID: optionalText,
  TWINMCP_GITHUB_CLIENT_SECRET: optionalText,
  TWINMCP_GITHUB_URL: httpUrl,
  TWINMCP_GITHUB_API_URL: httpUrl,
  // RFC 8628 suggests short lifetimes; 600 s leaves time to open a browser and sign in first.
  TWINMCP_DEVICE_CODE_TTL_SECONDS: wholeNumber('600', 60, 3600),
  TWINMCP_DEVICE_POLL_INTERVAL_SECONDS: wholeNumber('5', 1, 60),
});

/**
 * Reads the sign-in variables. `fallbackPublicUrl` (from host and port) is used when
 * TWINMCP_PUBLIC_URL is unset. Returns problems as `VARIABLE: message` strings.
 */
export function loadSigninConfig(
  env: NodeJS.ProcessEnv,
  fallbackPublicUrl: string,
): { config?: SigninConfig; problems: string[] } {
  const parsed = SigninEnv.safeParse(env);
  if (!parsed.success) {
    return { problems: envProblems(parsed.error) };
  }
  const e = parsed.data;
  const problems: string[] = [];
  const requireWith = (when: string, value: string | undefined, name: string): void => {
    if (value === undefined) problems.push(`${name}: required when ${when} is set`);
  };
  if (e.TWINMCP_SMTP_URL) requireWith('TWINMCP_SMTP_URL', e.TWINMCP_MAIL_FROM, 'TWINMCP_MAIL_FROM');
  if (e.TWINMCP_OIDC_ISSUER) {
    requireWith('TWINMCP_OIDC_ISSUER', e.TWINMCP_OIDC_CLIENT_ID, 'TWINMCP_OIDC_CLIENT_ID');
    requireWith('TWINMCP_OIDC_ISSUER', e.TWINMCP_OIDC_CLIENT_SECRET, 'TWINMCP_OIDC_CLIENT_SECRET');
  }
  if (e.TWINMCP_GITHUB_CLIENT_ID) {
    requireWith(
      'TWINMCP_GITHUB_CLIENT_ID',
      e.TWINMCP_GITHUB_CLIENT_SECRET,
      'TWINMCP_GITHUB_CLIENT_SECRET',
    );
  }
  if (problems.length > 0) return { problems };
  const trim = (url: string): string => url.replace(/\/+$/, '');
  return {
    problems,
    config: {
      publicUrl: trim(e.TWINMCP_PUBLIC_URL ?? fallbackPublicUrl),
      // Without a configured secret, cookies signed by one process fail in another and after a
      // restart: users sign in again. Hosted deployments set TWINMCP_SESSION_SECRET.
      sessionSecret: e.TWINMCP_SESSION_SECRET ?? randomBytes(32).toString('base64url'),
      sessionSecretGenerated: e.TWINMCP_SESSION_SECRET === undefined,
      sessionTtlMs: e.TWINMCP_SESSION_TTL_DAYS * 24 * 3600 * 1000,
      ...(e.TWINMCP_SMTP_URL && e.TWINMCP_MAIL_FROM
        ? { smtp: { url: e.TWINMCP_SMTP_URL, from: e.TWINMCP_MAIL_FROM } }
        : {}),
      ...(e.TWINMCP_OIDC_ISSUER && e.TWINMCP_OIDC_CLIENT_ID && e.TWINMCP_OIDC_CLIENT_SECRET
        ? {
            oidc: {
              issuer: e.TWINMCP_OIDC_ISSUER,
              clientId: e.TWINMCP_OIDC_CLIENT_ID,
              clientSecret: e.TWINMCP_OIDC_CLIENT_SECRET,
              label: e.TWINMCP_OIDC_LABEL ?? 'OpenID Connect',
            },
          }
        : {}),
      ...(e.TWINMCP_GITHUB_CLIENT_ID && e.TWINMCP_GITHUB_CLIENT_SECRET
        ? {
            github: {
              clientId: e.TWINMCP_GITHUB_CLIENT_ID,
              clientSecret: e.TWINMCP_GITHUB_CLIENT_SECRET,
              webUrl: trim(e.TWINMCP_GITHUB_URL ?? 'https://github.com'),
              apiUrl: trim(e.TWINMCP_GITHUB_API_URL ?? 'https://api.github.com'),
            },
          }
        : {}),
      device: {
        ttlSeconds: e.TWINMCP_DEVICE_CODE_TTL_SECONDS,
        intervalSeconds: e.TWINMCP_DEVICE_POLL_INTERVAL_SECONDS,
      },
    },
  };
}
