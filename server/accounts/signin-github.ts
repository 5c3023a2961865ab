/**
 * GitHub OAuth sign-in (authorization code, with state and PKCE): exchange the code, then read
 * `/user` and `/user/emails` and take the primary, verified address. GitHub is not an OIDC
 * provider, so this is plain OAuth plus two API reads.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { GithubConfig } from './signin-config.js';
import { SigninError, type OAuthRoundTrip, type VerifiedIdentity } from './signin-oidc.js';

// GitHub answers in ~100-300 ms; 10 s covers a slow moment without hanging a sign-in forever.
const TIMEOUT_MS = 10_000;
const API_HEADERS = {
  accept: 'application/vnd.github+json',
  'x-github-api-version': '2022-11-28',
  // GitHub rejects API requests without a User-Agent.
  'user-agent': 'TwinMCP',
};

export interface GithubSignin {
  start(): { url: string; checks: OAuthRoundTrip };
  finish(code: string, checks: OAuthRoundTrip): Promise<VerifiedIdentity>;
}

interface GithubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
}

/** A GitHub OAuth client redirecting back to `redirectUri`. */
export function createGithubSignin(cfg: GithubConfig, redirectUri: string): GithubSignin {
  return {
    start() {
      const checks = {
        state: randomBytes(32).toString('base64url'),
        verifier: randomBytes(32).toString('base64url'),
      };
      const url = new URL(`${cfg.webUrl}/login/oauth/authorize`);
      url.search = new URLSearchParams({
        client_id: cfg.clientId,
        redirect_uri: redirectUri,
        scope: 'read:user user:email',
        state: checks.state,
        code_challenge: createHash('sha256').update(checks.verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString();
      return { url: url.href, checks };
    },

    async finish(code, checks) {
      const token = await exchangeCode(cfg, redirectUri, code, checks.verifier);
      const auth = { ...API_HEADERS, authorization: `Bearer ${token}` };
      const user = (await getJson(`${cfg.apiUrl}/user`, auth)) as { login?: string; name?: string };
      const emails = await getJson(`${cfg.apiUrl}/user/emails`, auth);
      if (!Array.isArray(emails)) throw new SigninError('GitHub returned no email list');
      const primary = (emails as GithubEmail[]).find((e) => e.primary && e.verified);
      if (!primary) {
        throw new SigninError('Your GitHub account has no verified primary email address');
      }
      return { email: primary.email, name: user.name ?? user.login ?? '' };
    },
  };
}

async function exchangeCode(
  cfg: GithubConfig,
  redirectUri: string,
  code: string,
  verifier: string | undefined,
): Promise<string> {
  const body = new URLSearchParams({
    client_id: cfg.clientId,
    client_secret: cfg.clientSecret,
    code,
    redirect_uri: redirectUri,
  });
  if (verifier) body.set('code_verifier', verifier);
  const res = await fetchWithTimeout(`${cfg.webUrl}/login/oauth/access_token`, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  // GitHub reports a bad code with status 200 and an `error` field, so both are checked.
  const json = (await res.json().catch(() => ({}))) as {
    access_token?: string;
    error?: string;
    error_description?: string;
  };
  if (!res.ok || !json.access_token) {
    const why = json.error_description ?? json.error ?? `HTTP ${res.status}`;
    throw new SigninError(`GitHub did not accept the sign-in: ${why}`);
  }
  return json.access_token;
}

async function getJson(url: string, headers: Record<string, string>): Promise<unknown> {
  const res = await fetchWithTimeout(url, { headers });
  if (!res.ok) throw new SigninError(`GitHub API ${new URL(url).pathname}: HTTP ${res.status}`);
  return res.json();
}

async function fetchWithTimeout(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw new SigninError(
      `GitHub could not be reached: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}
