/**
 * OpenID Connect sign-in (Google or any issuer) with openid-client: authorization code flow with
 * PKCE (S256), state and nonce. The issuer's metadata is discovered once, on first use.
 */
import * as oidc from 'openid-client';
import type { OidcConfig } from './signin-config.js';

/** A sign-in that could not complete; the message is safe to show to the person signing in. */
export class SigninError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SigninError';
  }
}

/** What the browser round trip must carry back (in a signed cookie) to finish the flow. */
export interface OAuthRoundTrip {
  state: string;
  nonce?: string;
  verifier?: string;
}

/** A verified identity from an identity provider. */
export interface VerifiedIdentity {
  email: string;
  name: string;
}

export interface OidcSignin {
  start(): Promise<{ url: string; checks: OAuthRoundTrip }>;
  /** `callbackUrl` is the redirect URI with the query string the provider sent back. */
  finish(callbackUrl: URL, checks: OAuthRoundTrip): Promise<VerifiedIdentity>;
}

/** An OIDC client for one issuer, redirecting back to `redirectUri`. */
export function createOidcSignin(cfg: OidcConfig, redirectUri: string): OidcSignin {
  const issuer = new URL(cfg.issuer);
  // Plain http is only acceptable for an issuer on this machine (development, tests).
  const insecure =
    issuer.protocol === 'http:' && /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(issuer.hostname);
  let discovered: Promise<oidc.Configuration> | undefined;
  const configuration = (): Promise<oidc.Configuration> => {
    discovered ??= oidc
      .discovery(
        issuer,
        cfg.clientId,
        cfg.clientSecret,
        undefined,
        insecure ? { execute: [oidc.allowInsecureRequests] } : undefined,
      )
      .catch((err: unknown) => {
        discovered = undefined; // try again on the next sign-in rather than caching the failure
        throw new SigninError(`The identity provider could not be reached: ${message(err)}`);
      });
    return discovered;
  };

  return {
    async start() {
      const config = await configuration();
      const verifier = oidc.randomPKCECodeVerifier();
      const checks = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid email profile',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: checks.state,
        nonce: checks.nonce,
      });
      return { url: url.href, checks };
    },

    async finish(callbackUrl, checks) {
      const config = await configuration();
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: checks.verifier,
          expectedState: checks.state,
          expectedNonce: checks.nonce,
          idTokenExpected: true,
        });
      } catch (err) {
        throw new SigninError(`Sign-in with ${cfg.label} failed: ${message(err)}`);
      }
      const claims = tokens.claims();
      if (!claims) throw new SigninError(`${cfg.label} returned no ID token`);
      let email = claims.email;
      let verified = claims.email_verified;
      let name = claims.name;
      // Providers that follow OIDC Core 5.4 strictly put scope claims in userinfo, not the ID token.
      if (typeof email !== 'string') {
        const info = await oidc
          .fetchUserInfo(config, tokens.access_token, claims.sub)
          .catch((err: unknown) => {
            throw new SigninError(`${cfg.label} user info failed: ${message(err)}`);
          });
        email = info.email;
        verified = info.email_verified;
        name = info.name ?? name;
      }
      if (typeof email !== 'string' || email.length === 0) {
        throw new SigninError(`${cfg.label} did not share an email address`);
      }
      if (verified !== true) {
        throw new SigninError(`${cfg.label} has not verified ${email}; verify it there first`);
      }
      return { email, name: typeof name === 'string' ? name : '' };
    },
  };
}

function message(err: unknown): string {
  // openid-client's AuthorizationResponseError carries the provider's own error fields.
  const e = err as { error?: unknown; error_description?: unknown } | null;
  if (typeof e?.error === 'string') {
    return typeof e.error_description === 'string' ? `${e.error}: ${e.error_description}` : e.error;
  }
  return err instanceof Error ? err.message : String(err);
}
