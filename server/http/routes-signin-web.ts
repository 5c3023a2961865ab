/**
 * Fastify glue for the browser side of sign-in, shared by the sign-in, device and billing routes:
 * form bodies, the session cookie, CSRF nonces and HTML replies.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../db/db.js';
import type { SigninConfig } from '../accounts/signin-config.js';
import {
  clearCookie,
  CSRF_COOKIE,
  csrfToken,
  parseCookies,
  serializeCookie,
  SESSION_COOKIE,
  signValue,
  unsignValue,
  verifyCsrf,
} from '../accounts/session-cookie.js';
import {
  createSession,
  deleteSession,
  findSession,
  randomToken,
  type ActiveSession,
  type SigninMethod,
} from '../accounts/session-store.js';
import { PAGE_CSP } from '../accounts/signin-pages.js';

/**
 * Route options for sign-in, device and webhook routes: open to callers without a key (they are
 * how one gets a key), and outside the per-key rate limit and quotas.
 */
export const OPEN = { config: { auth: 'none' as const } };

// Our forms carry a handful of short fields; 16 KiB is generous and bounds the parser's work.
const FORM_BODY_LIMIT = 16 * 1024;

/**
 * Accepts `application/x-www-form-urlencoded` bodies in this (encapsulated) plugin only: HTML
 * forms and RFC 8628's endpoints need them; every other write route stays JSON-only.
 */
export function acceptFormBodies(app: FastifyInstance): void {
  // text/plain is, like forms, a body a cross-site page may send without a preflight; nothing
  // here reads it, so it is refused (415) rather than parsed into nothing.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT },
    (_request, body, done) => {
      const fields: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(body as string)) if (!(k in fields)) fields[k] = v;
      done(null, fields);
    },
  );
}

/** A string field of a parsed body (form or JSON), or undefined. */
export function field(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** The browser-session helpers for one server configuration. */
export class WebSessions {
  private readonly cache = new WeakMap<FastifyRequest, Promise<ActiveSession | null>>();
  readonly secure: boolean;

  constructor(
    readonly cfg: SigninConfig,
    private readonly db: () => Db,
  ) {
    this.secure = cfg.publicUrl.startsWith('https:');
  }

  /** The request's live session, looked up once per request. */
  session(request: FastifyRequest): Promise<ActiveSession | null> {
    let found = this.cache.get(request);
    if (!found) {
      const cookies = parseCookies(request.headers.cookie);
      const token = unsignValue(this.cfg.sessionSecret, SESSION_COOKIE, cookies[SESSION_COOKIE]);
      found = token ? findSession(this.db(), token) : Promise.resolve(null);
      this.cache.set(request, found);
    }
    return found;
  }

  /** Starts a session for `accountId` (ending any previous one) and sets its cookie. */
  async signIn(
    request: FastifyRequest,
    reply: FastifyReply,
    accountId: string,
    method: SigninMethod,
  ): Promise<void> {
    const old = this.sessionToken(request);
    if (old) await deleteSession(this.db(), old);
    const { token } = await createSession(this.db(), accountId, method, this.cfg.sessionTtlMs);
    reply.header(
      'set-cookie',
      serializeCookie(SESSION_COOKIE, signValue(this.cfg.sessionSecret, SESSION_COOKIE, token), {
        secure: this.secure,
        maxAgeSeconds: this.cfg.sessionTtlMs / 1000,
      }),
    );
  }

  /** Ends the request's session and clears its cookie. */
  async signOut(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const token = this.sessionToken(request);
    if (token) await deleteSession(this.db(), token);
    reply.header('set-cookie', clearCookie(SESSION_COOKIE, { secure: this.secure }));
  }

  /** The CSRF token for a form on this page; sets the nonce cookie on first use. */
  async csrf(request: FastifyRequest, reply: FastifyReply): Promise<string> {
    let nonce = this.csrfNonce(request);
    if (!nonce) {
      nonce = randomToken();
      // A browser-lifetime cookie: forms opened in other tabs keep working.
      reply.header(
        'set-cookie',
        serializeCookie(CSRF_COOKIE, signValue(this.cfg.sessionSecret, CSRF_COOKIE, nonce), {
          secure: this.secure,
        }),
      );
    }
    const session = await this.session(request);
    return csrfToken(this.cfg.sessionSecret, nonce, session?.idHash ?? null);
  }

  /** True when the form's `csrf` field matches this browser (and its session). */
  async csrfOk(request: FastifyRequest): Promise<boolean> {
    const session = await this.session(request);
    return verifyCsrf(
      this.cfg.sessionSecret,
      this.csrfNonce(request),
      session?.idHash ?? null,
      field(request.body, 'csrf'),
    );
  }

  private sessionToken(request: FastifyRequest): string | undefined {
    const cookies = parseCookies(request.headers.cookie);
    return unsignValue(this.cfg.sessionSecret, SESSION_COOKIE, cookies[SESSION_COOKIE]);
  }

  private csrfNonce(request: FastifyRequest): string | undefined {
    const cookies = parseCookies(request.headers.cookie);
    return unsignValue(this.cfg.sessionSecret, CSRF_COOKIE, cookies[CSRF_COOKIE]);
  }
}

/** Sends a server-rendered page: never cached, no scripts, not frameable. */
export function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply
    .code(status)
    .header('content-security-policy', PAGE_CSP)
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .type('text/html; charset=utf-8')
    .send(html);
}
