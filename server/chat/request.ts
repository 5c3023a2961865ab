/** Per-request helpers of the chat routes: whose data it is, and the JSON-only rule for writes. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../http/errors.js';

/**
 * The account a request acts for: `request.account.id` once the accounts layer decorates
 * requests, null (the local user, no account) until then. The one place to change for auth.
 */
export function ownerOf(request: FastifyRequest): string | null {
  const account = (request as FastifyRequest & { account?: { id?: unknown } | null }).account;
  return typeof account?.id === 'string' ? account.id : null;
}

/**
 * Whose libraries the request may search, by the engine's rule: undefined (all) for trusted
 * callers (no auth layer, auth off, the local admin token), else the account or null (public).
 */
export function viewerOf(request: FastifyRequest): string | null | undefined {
  const trusted = (request as FastifyRequest & { trusted?: unknown }).trusted;
  return trusted === false ? ownerOf(request) : undefined;
}

/** Write routes take JSON only; it also forces browsers into a CORS preflight. */
export async function requireJson(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    await sendError(
      reply,
      415,
      'unsupported_media_type',
      `Expected Content-Type: application/json, got ${type ? type : 'none'}`,
    );
  }
}

/**
 * Refuses callers the auth layer marked untrusted and without an account (anonymous callers of a
 * server with accounts on): they would all share the null owner's conversations, and answers
 * cost model tokens. Trusted local callers (auth off, admin token) keep the null owner.
 */
export async function refuseAnonymous(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const r = request as FastifyRequest & { trusted?: unknown; account?: unknown };
  if (r.trusted === false && !r.account) {
    await sendError(
      reply,
      401,
      'invalid_api_key',
      'Chat and conversations belong to an account: send an API key as `Authorization: Bearer tmcp_...`.',
    );
  }
}
