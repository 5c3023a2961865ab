/** Liveness plus what the server runs on, for `twinmcp` and the extension's status bar. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HealthResponse } from '../../shared/api.js';
import { VERSION } from '../config.js';

/** `GET /health`. */
export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/health', { schema: { response: { 200: HealthResponse } } }, async () => ({
    status: 'ok' as const,
    version: VERSION,
    database: app.engine.db.dialect,
    vector: app.engine.db.hasVector,
    // Embedding providers are not wired yet; search is lexical.
    embeddings: 'off',
    libraries: (await app.engine.listLibraries()).length,
  }));
};
