/** Documentation for a query: the Context7 text layout, or the snippets as JSON. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ContextQuery } from '../../shared/api.js';
import { parseLibraryId } from '../../shared/library-id.js';
import { callContext } from './auth.js';
import { invalidId } from './routes-libs.js';

/** `GET /context`; register with prefix `/api/v1`. */
export const contextRoutes: FastifyPluginAsyncZod = async (app) => {
  // No response schema: the 200 body is text or JSON depending on `type`.
  app.get('/context', { schema: { querystring: ContextQuery } }, async (request, reply) => {
    const { libraryId, query, tokens, type } = request.query;
    if (!parseLibraryId(libraryId)) return invalidId(reply, libraryId);
    const outcome = await app.engine.query(libraryId, query, tokens, callContext(request, 'rest'));
    if (type === 'json') return reply.type('application/json; charset=utf-8').send(outcome.json);
    return reply.type('text/plain; charset=utf-8').send(outcome.text);
  });
};
