/**
 * Sign-in through an identity provider: OpenID Connect (`/signin/oidc`) and GitHub OAuth
 * (`/signin/github`). The round trip's state, nonce and PKCE verifier travel in a signed,
 * HttpOnly cookie scoped to /signin that lives 10 minutes.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import {
  clearCookie,
  OAUTH_COOKIE,
  parseCookies,
  safeNextPath,
  serializeCookie,
  signValue,
  unsignValue,
} from '../accounts/session-cookie.js';
import type { SigninMethod } from '../accounts/session-store.js';
import { accountForVerifiedEmail } from '../accounts/signin-account.js';
import { createGithubSignin } from '../accounts/signin-github.js';
import {
  createOidcSignin,
  SigninError,
  type OAuthRoundTrip,
  type VerifiedIdentity,
} from '../accounts/signin-oidc.js';
import { errorPage } from '../accounts/signin-pages.js';
import { OPEN, sendPage, type WebSessions } from './routes-signin-web.js';

export interface OAuthSigninOptions {
  sessions: WebSessions;
  defaultPlan: string;
}

// Ten minutes to sign in at the provider (including creating an account there).
const ROUND_TRIP_SECONDS = 600;

interface RoundTripCookie extends OAuthRoundTrip {
  provider: 'oidc' | 'github';
  next: string;
  expires: number;
}

interface Provider {
  start(): Promise<{ url: string; checks: OAuthRoundTrip }>;
  finish(request: FastifyRequest, checks: OAuthRoundTrip): Promise<VerifiedIdentity>;
}

/** `/signin/oidc[/callback]` and `/signin/github[/callback]`, for the configured providers. */
export const oauthSigninRoutes: FastifyPluginAsync<OAuthSigninOptions> = async (app, opts) => {
  const { sessions } = opts;
  const cfg = sessions.cfg;
  const secret = cfg.sessionSecret;
  const cookieOpts = { secure: sessions.secure, path: '/signin' };

  const providers: Partial<Record<'oidc' | 'github', Provider>> = {};
  if (cfg.oidc) {
    const redirectUri = `${cfg.publicUrl}/signin/oidc/callback`;
    const client = createOidcSignin(cfg.oidc, redirectUri);
    providers.oidc = {
      start: () => client.start(),
      finish: (request, checks) => {
        const query = request.url.slice(request.url.indexOf('?'));
        return client.finish(new URL(redirectUri + (query.startsWith('?') ? query : '')), checks);
      },
    };
  }
  if (cfg.github) {
    const client = createGithubSignin(cfg.github, `${cfg.publicUrl}/signin/github/callback`);
    providers.github = {
      start: async () => client.start(),
      finish: (request, checks) => {
        const query = request.query as Record<string, string | undefined>;
        if (query.state !== checks.state) {
          throw new SigninError('The sign-in response does not match this browser; start again.');
        }
        return client.finish(query.code ?? '', checks);
      },
    };
  }

  for (const name of ['oidc', 'github'] as const) {
    const provider = providers[name];
    if (!provider) continue;
    const method: SigninMethod = name;

    app.get<{ Querystring: { next?: string } }>(`/signin/${name}`, OPEN, async (request, reply) => {
      let started: Awaited<ReturnType<Provider['start']>>;
      try {
        started = await provider.start();
      } catch (err) {
        return failed(request, reply, err);
      }
      const state: RoundTripCookie = {
        ...started.checks,
        provider: name,
        next: safeNextPath(request.query.next),
        expires: Date.now() + ROUND_TRIP_SECONDS * 1000,
      };
      const value = Buffer.from(JSON.stringify(state)).toString('base64url');
      reply.header(
        'set-cookie',
        serializeCookie(OAUTH_COOKIE, signValue(secret, OAUTH_COOKIE, value), {
          ...cookieOpts,
          maxAgeSeconds: ROUND_TRIP_SECONDS,
        }),
      );
      return reply.redirect(started.url, 302);
    });

    app.get<{ Querystring: Record<string, string | undefined> }>(
      `/signin/${name}/callback`,
      OPEN,
      async (request, reply) => {
        reply.header('set-cookie', clearCookie(OAUTH_COOKIE, cookieOpts));
        const state = readRoundTrip(request, secret);
        if (!state || state.provider !== name || state.expires < Date.now()) {
          return sendPage(
            reply,
            400,
            errorPage(
              'Sign-in expired',
              'This sign-in took too long or started elsewhere. Try again.',
            ),
          );
        }
        const denied = request.query.error;
        if (denied && name === 'github') {
          const why = request.query.error_description ?? denied;
          return sendPage(reply, 400, errorPage('Sign-in cancelled', `GitHub: ${why}`));
        }
        let identity: VerifiedIdentity;
        try {
          identity = await provider.finish(request, state);
        } catch (err) {
          return failed(request, reply, err);
        }
        const { account } = await accountForVerifiedEmail(app.engine.db, identity.email, {
          name: identity.name,
          plan: opts.defaultPlan,
        });
        await sessions.signIn(request, reply, account.id, method);
        return reply.redirect(state.next, 303);
      },
    );
  }
};

function readRoundTrip(request: FastifyRequest, secret: string): RoundTripCookie | undefined {
  const raw = unsignValue(secret, OAUTH_COOKIE, parseCookies(request.headers.cookie)[OAUTH_COOKIE]);
  if (!raw) return undefined;
  try {
    return JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as RoundTripCookie;
  } catch {
    return undefined;
  }
}

function failed(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof SigninError) {
    request.log.warn({ err }, 'sign-in failed');
    return sendPage(reply, 400, errorPage('Sign-in failed', err.message));
  }
  throw err;
}
