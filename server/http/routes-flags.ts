/** `GET /libs/flags?libraryId=`: the pages of a library the injection screening neutralized. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PageFlagsResponse } from '../../shared/api.js';
import { parseLibraryId } from '../../shared/library-id.js';
import { visibilityParams, visibleSql } from '../accounts/visibility.js';
import { listPageFlags } from '../indexing/screen-store.js';
import { callContext } from './auth.js';
import { sendError } from './errors.js';
import { invalidId } from './routes-libs.js';

const FlagsQuery = z.object({ libraryId: z.string().trim().min(1).max(300) });

/** Register with prefix `/api/v1`. Same visibility as `GET /libs`: private libraries only for their owner. */
export const flagsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/libs/flags',
    { schema: { querystring: FlagsQuery, response: { 200: PageFlagsResponse } } },
    async (request, reply) => {
      const parsed = parseLibraryId(request.query.libraryId);
      if (!parsed) return invalidId(reply, request.query.libraryId);
      const { owner } = callContext(request, 'rest');
      const [library] = await app.engine.db.query<{ id: string }>(
        `SELECT id FROM libraries l WHERE lower(l.id) = lower($3) AND ${visibleSql('l', 1)}`,
        [...visibilityParams(owner), parsed.libraryId],
      );
      if (!library) {
        return sendError(reply, 404, 'library_not_found', `Library ${parsed.libraryId} not found`);
      }
      return { libraryId: library.id, pages: await listPageFlags(app.engine.db, library.id) };
    },
  );
};
