/** Indexing job status, polled by `twinmcp add` and the extension. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Job } from '../../shared/api.js';
import { jobVisible } from '../accounts/visibility.js';
import { sendError } from './errors.js';

/** `GET /jobs/:id`; register with prefix `/api/v1`. */
export const jobsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/jobs/:id',
    {
      schema: {
        params: z.object({ id: z.string().min(1).max(200) }),
        response: { 200: z.object({ job: Job }) },
      },
    },
    async (request, reply) => {
      const job = await app.engine.getJob(request.params.id);
      // Another account's job answers like a missing one.
      const hidden =
        job &&
        !request.trusted &&
        !(await jobVisible(app.engine.db, job.id, request.account?.id ?? null));
      if (!job || hidden)
        return sendError(reply, 404, 'job_not_found', `Job ${request.params.id} not found`);
      return { job };
    },
  );
};
