/**
 * Cookies for web sign-in, framework-free: parsing the Cookie header, HMAC-signed values,
 * Set-Cookie strings and CSRF tokens. The HTTP layer passes header strings in and out.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The session cookie: the session token, signed. */
export const SESSION_COOKIE = 'tmcp_session';
/** A random nonce the CSRF tokens of forms are derived from (signed double-submit). */
export const CSRF_COOKIE = 'tmcp_csrf';
/** OAuth/OIDC round-trip state (state, nonce, PKCE verifier), signed, 10 minutes. */
export const OAUTH_COOKIE = 'tmcp_oauth';

/** Parses a Cookie header into name -> value (first occurrence wins, values URI-decoded). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (name in out) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      // A malformed escape is someone else's cookie; ignore it rather than fail the request.
    }
  }
  return out;
}

function mac(secret: string, purpose: string, value: string): string {
  return createHmac('sha256', secret).update(`${purpose}\n${value}`).digest('base64url');
}

function sameText(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** `value.signature`: the purpose is mixed in so a value signed for one cookie fits no other. */
export function signValue(secret: string, purpose: string, value: string): string {
  return `${value}.${mac(secret, purpose, value)}`;
}

/** The value of a `signValue` result, or undefined when the signature does not match. */
export function unsignValue(
  secret: string,
  purpose: string,
  signed: string | undefined,
): string | undefined {
  if (!signed) return undefined;
  const dot = signed.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const value = signed.slice(0, dot);
  return sameText(signed.slice(dot + 1), mac(secret, purpose, value)) ? value : undefined;
}

export interface CookieOptions {
  maxAgeSeconds?: number;
  path?: string;
  /** Set for https public URLs: the browser then never sends the cookie in clear. */
  secure: boolean;
}

/**
 * A Set-Cookie value: always HttpOnly (no script reads it) and SameSite=Lax (sent on top-level
 * navigations, which OAuth redirects back to us are, but not on cross-site POSTs).
 */
export function serializeCookie(name: string, value: string, opts: CookieOptions): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${opts.path ?? '/'}`];
  if (opts.maxAgeSeconds !== undefined) parts.push(`Max-Age=${Math.floor(opts.maxAgeSeconds)}`);
  parts.push('HttpOnly', 'SameSite=Lax');
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}

/** A Set-Cookie value that deletes the cookie. */
export function clearCookie(name: string, opts: Omit<CookieOptions, 'maxAgeSeconds'>): string {
  return serializeCookie(name, '', { ...opts, maxAgeSeconds: 0 });
}

/**
 * The CSRF token a form carries: bound to the browser's CSRF nonce cookie and, once signed in, to
 * the session, so a token seen before sign-in is useless after it.
 */
export function csrfToken(secret: string, nonce: string, sessionHash: string | null): string {
  return mac(secret, 'csrf', `${nonce}\n${sessionHash ?? ''}`);
}

/** True when `token` is the CSRF token for this nonce and session. */
export function verifyCsrf(
  secret: string,
  nonce: string | undefined,
  sessionHash: string | null,
  token: unknown,
): boolean {
  if (!nonce || typeof token !== 'string' || token.length === 0) return false;
  return sameText(token, csrfToken(secret, nonce, sessionHash));
}

/**
 * A same-site path to return to after sign-in: only `/x...` paths, never `//host` or `/\host`
 * (which browsers treat as another site), so `next` cannot become an open redirect.
 */
export function safeNextPath(next: unknown, fallback = '/signin'): string {
  if (typeof next !== 'string' || next.length > 512) return fallback;
  if (!/^\/(?![/\\])[\x21-\x7e]*$/.test(next)) return fallback;
  return next;
}
