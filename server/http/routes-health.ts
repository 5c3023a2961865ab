/** Liveness plus what the server runs on, for `twinmcp` and the extension's status bar. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HealthResponse } from '../../shared/api.js';
import { VERSION } from '../config.js';

/** `GET /health`. */
export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/health', { schema: { response: { 200: HealthResponse } } }, async () => {
    // A provider that is down makes this `unavailable`, never an error: queries answer lexically.
    const embeddings = (await app.engine.embeddingsHealth?.()) ?? {
      state: 'off',
      search: 'lexical' as const,
    };
    return {
      status: 'ok' as const,
      version: VERSION,
      database: app.engine.db.dialect,
      vector: app.engine.db.hasVector,
      embeddings: embeddings.state,
      search: embeddings.search,
      ...(embeddings.model ? { embeddingModel: embeddings.model } : {}),
      // A database outage is readiness (/ready), not liveness: restarting this process would not
      // bring the database back, so /health answers 200 without the count.
      libraries: await app.engine.listLibraries().then(
        (libs) => libs.length,
        () => null,
      ),
    };
  });
};
