/**
 * `POST /libs/refresh`: queue refresh jobs for one library or all of them. Refreshing fetches
 * sources again (network, disk), so it is for operators and owners: the local admin token or an
 * admin key refresh anything; another account's key refreshes only its own private libraries.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { RefreshBody, RefreshResponse } from '../../shared/api.js';
import { parseLibraryId } from '../../shared/library-id.js';
import { forbid, sendError } from './errors.js';

export interface RefreshRoutesOptions {
  /** Whether the request carries the local admin token. */
  isAdmin: (request: FastifyRequest) => boolean;
}

/** Register with prefix `/api/v1`. */
export const refreshRoutes: FastifyPluginAsyncZod<RefreshRoutesOptions> = async (app, opts) => {
  app.post(
    '/libs/refresh',
    {
      onRequest: async (request, reply) => {
        const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
        if (type !== 'application/json') {
          return sendError(
            reply,
            415,
            'unsupported_media_type',
            `Expected Content-Type: application/json, got ${type ? type : 'none'}`,
          );
        }
        if (!opts.isAdmin(request) && !request.account) {
          return forbid(
            reply,
            'Refreshing needs the local admin token (use `twinmcp refresh`) or an API key of the library owner',
          );
        }
      },
      schema: { body: RefreshBody, response: { 202: RefreshResponse } },
    },
    async (request, reply) => {
      const { libraryId } = request.body;
      if (libraryId !== undefined && !parseLibraryId(libraryId)) {
        return sendError(
          reply,
          400,
          'invalid_library_id',
          `Invalid library id "${libraryId}": expected /owner/name`,
        );
      }
      if (!app.engine.refresh) {
        return sendError(reply, 500, 'internal_error', 'This server cannot refresh libraries.');
      }
      // Operators (local admin token, admin keys) reach every library; other keys their own.
      const operator = opts.isAdmin(request) || request.account?.isAdmin === true;
      const ctx = operator
        ? { client: 'rest' as const }
        : { client: 'rest' as const, owner: request.account?.id ?? null };
      const result = await app.engine.refresh(libraryId, ctx);
      return reply.code(202).send(result);
    },
  );
};
