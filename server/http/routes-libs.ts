/** Library routes: resolve by name, list, add a source, remove. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  AddSourceBody,
  Job,
  LibrarySummary,
  SearchQuery,
  SearchResponse,
} from '../../shared/api.js';
import { parseLibraryId } from '../../shared/library-id.js';
import type { AccountsConfig } from '../accounts/config.js';
import { callContext } from './auth.js';
import { forbid, sendError } from './errors.js';
import { ownerForNewLibrary } from './ownership.js';
import { isLocalSource } from '../indexing/source-spec.js';

export interface LibsRoutesOptions {
  /** Whether the request carries the local admin token. */
  isAdmin: (request: FastifyRequest) => boolean;
  /** Plans (private-library limits) when auth is on. */
  accounts?: AccountsConfig;
}

const RemoveQuery = z.object({ libraryId: z.string().trim().min(1).max(300) });

/** `/libs/search`, `/libs` (GET, POST, DELETE); register with prefix `/api/v1`. */
export const libsRoutes: FastifyPluginAsyncZod<LibsRoutesOptions> = async (app, opts) => {
  app.get(
    '/libs/search',
    { schema: { querystring: SearchQuery, response: { 200: SearchResponse } } },
    async (request) => {
      const { libraryName, query } = request.query;
      return {
        results: await app.engine.resolve(libraryName, query, callContext(request, 'rest')),
      };
    },
  );

  app.get(
    '/libs',
    { schema: { response: { 200: z.object({ libraries: z.array(LibrarySummary) }) } } },
    async (request) => ({
      libraries: await app.engine.listLibraries(callContext(request, 'rest')),
    }),
  );

  app.post(
    '/libs',
    {
      onRequest: requireJson,
      schema: { body: AddSourceBody, response: { 202: z.object({ job: Job }) } },
    },
    async (request, reply) => {
      const body = request.body;
      const trustedLocal = opts.isAdmin(request);
      if (isLocalSource(body.source) && !trustedLocal) {
        return forbid(
          reply,
          'Local paths and file:// sources can only be added with the twinmcp CLI ' +
            '(`twinmcp add <path>`) or a request carrying the local admin token; ' +
            'over plain HTTP, add an https:// git URL instead.',
        );
      }
      if (body.libraryId !== undefined && !parseLibraryId(body.libraryId)) {
        return invalidId(reply, body.libraryId);
      }
      const { public: wantsPublic, ...source } = body;
      const decision = await ownerForNewLibrary(
        app.engine.db,
        opts.accounts,
        request,
        wantsPublic === true,
      );
      if (!decision.ok) return sendError(reply, decision.status, decision.error, decision.message);
      const owner = decision.owner !== undefined ? { owner: decision.owner } : {};
      const job = await app.engine.addSource({ ...source, trustedLocal, ...owner });
      return reply.code(202).send({ job });
    },
  );

  // Deleting is destructive, so it needs the admin token even on loopback: the Origin check stops
  // browsers, but not other local programs the user did not authorise.
  app.delete(
    '/libs',
    {
      onRequest: async (request, reply) => {
        // With auth on, an account may remove its own private libraries (the engine checks).
        if (!opts.isAdmin(request) && !request.account) {
          return forbid(
            reply,
            'Removing a library needs the local admin token (use `twinmcp remove`)',
          );
        }
      },
      schema: {
        querystring: RemoveQuery,
        response: { 200: z.object({ removed: z.literal(true) }) },
      },
    },
    async (request, reply) => {
      const { libraryId } = request.query;
      if (!parseLibraryId(libraryId)) return invalidId(reply, libraryId);
      // Admin keys act as operators; other keys reach only their own libraries.
      const ctx = request.account?.isAdmin
        ? { client: 'rest' as const }
        : callContext(request, 'rest');
      if (!(await app.engine.removeLibrary(libraryId, ctx))) {
        return sendError(reply, 404, 'library_not_found', `Library ${libraryId} not found`);
      }
      return { removed: true as const };
    },
  );
};

/**
 * Write routes take JSON only. Besides being the contract, it forces browsers into a CORS
 * preflight, which text/plain or form posts would skip.
 */
async function requireJson(request: FastifyRequest, reply: FastifyReply): Promise<void> {
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

/** Replies 400 `invalid_library_id` with the expected form. */
export function invalidId(reply: FastifyReply, libraryId: string): FastifyReply {
  return sendError(
    reply,
    400,
    'invalid_library_id',
    `Invalid library id "${libraryId}": expected /owner/name or /owner/name/version`,
  );
}
