/**
 * Indexing jobs: status (polled by `twinmcp add` and the extension), the caller's job list, and
 * cancel. Auth on: an account sees and cancels its own jobs, an admin key every job; anyone may
 * read a public job's status, but only an admin (or the local CLI) cancels one.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Job, JobList, JobState } from '../../shared/api.js';
import { jobVisible } from '../accounts/visibility.js';
import { GET_A_KEY } from './auth.js';
import { sendError } from './errors.js';

const Params = z.object({ id: z.string().min(1).max(200) });

/** Who may cancel: the local CLI / auth off, an admin key, or the job's owning account. */
async function canCancel(
  request: FastifyRequest,
  reply: FastifyReply,
  owner: string | null,
): Promise<boolean> {
  if (request.trusted || request.account?.isAdmin) return true;
  if (!request.account) {
    sendError(reply, 401, 'invalid_api_key', `Cancelling a job needs an API key. ${GET_A_KEY}`);
    return false;
  }
  if (owner === request.account.id) return true;
  sendError(reply, 403, 'forbidden', 'Only an admin key can cancel a public job.');
  return false;
}

/** `GET /jobs`, `GET /jobs/:id`, `DELETE /jobs/:id`; register with prefix `/api/v1`. */
export const jobsRoutes: FastifyPluginAsyncZod = async (app) => {
  const notFound = (reply: FastifyReply, id: string) =>
    sendError(reply, 404, 'job_not_found', `Job ${id} not found`);

  app.get(
    '/jobs',
    {
      schema: {
        querystring: z.object({
          state: z
            .string()
            .max(100)
            .optional()
            .transform((s) => (s ? s.split(',').map((x) => x.trim()) : undefined))
            .pipe(z.array(JobState).optional()),
        }),
        response: { 200: JobList },
      },
    },
    async (request, reply) => {
      if (!app.engine.listJobs) return sendError(reply, 404, 'not_found', 'No job list here.');
      if (!request.trusted && !request.account) {
        return sendError(
          reply,
          401,
          'invalid_api_key',
          `Listing jobs needs an API key. ${GET_A_KEY}`,
        );
      }
      const all = request.trusted || request.account?.isAdmin;
      const jobs = await app.engine.listJobs(
        all ? undefined : request.account!.id,
        request.query.state,
      );
      return { jobs };
    },
  );

  app.get(
    '/jobs/:id',
    { schema: { params: Params, response: { 200: z.object({ job: Job }) } } },
    async (request, reply) => {
      const job = await app.engine.getJob(request.params.id);
      // Another account's job answers like a missing one.
      const hidden =
        job &&
        !request.trusted &&
        !(await jobVisible(app.engine.db, job.id, request.account?.id ?? null));
      if (!job || hidden) return notFound(reply, request.params.id);
      return { job };
    },
  );

  // DELETE rather than POST .../cancel: the job stops and its staging version goes; the record
  // stays (state `cancelled`) so its progress and attempts can still be read.
  app.delete(
    '/jobs/:id',
    { schema: { params: Params, response: { 200: z.object({ job: Job }) } } },
    async (request, reply) => {
      const { id } = request.params;
      if (!app.engine.cancelJob) return sendError(reply, 404, 'not_found', 'No job cancel here.');
      const [row] = /^[0-9a-f-]{36}$/i.test(id)
        ? await app.engine.db.query<{ owner_account: string | null }>(
            'SELECT owner_account FROM jobs WHERE id = $1',
            [id],
          )
        : [];
      const visible =
        row &&
        (request.trusted ||
          request.account?.isAdmin ||
          row.owner_account === null ||
          row.owner_account === request.account?.id);
      if (!row || !visible) return notFound(reply, id);
      if (!(await canCancel(request, reply, row.owner_account))) return reply;
      const job = await app.engine.cancelJob(id);
      if (!job) return notFound(reply, id);
      if (job.state === 'succeeded' || job.state === 'failed') {
        return sendError(reply, 409, 'conflict', `Job ${id} has already ${job.state}.`);
      }
      return { job };
    },
  );
};
