/**
 * The local admin token: written to the lock file (mode 0600) by `twinmcp serve`, so only the
 * user's own processes (the CLI, the extension) can read it. A web page cannot, which is what
 * keeps local paths and deletions out of reach of any site the user visits.
 */
import crypto from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/** Returns a predicate telling whether a request carries `Authorization: Bearer <token>`. */
export function adminTokenCheck(token: string | undefined): (request: FastifyRequest) => boolean {
  if (!token) return () => false;
  const expected = digest(token);
  return (request) => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1]) return false;
    // Digests have equal length, which timingSafeEqual requires, and hide the token's length.
    return crypto.timingSafeEqual(digest(match[1]), expected);
  };
}

function digest(value: string): Buffer {
  return crypto.createHash('sha256').update(value).digest();
}
