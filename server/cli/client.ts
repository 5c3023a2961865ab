/** The REST client for a running `twinmcp serve`, authenticated with the lock file's admin token. */
import {
  ContextResponse,
  ErrorBody,
  Job,
  JobList,
  LibrarySummary,
  RefreshResponse,
  SearchResponse,
  type AddSourceBody,
} from '../../shared/api.js';
import { z } from 'zod';
import { CLIENT_HEADER } from '../../shared/account.js';
import { EngineError } from '../engine-types.js';
import type { Backend } from './backend.js';

const TERMINAL = new Set<Job['state']>(['succeeded', 'failed', 'cancelled']);
// Indexing runs for seconds to minutes; half a second keeps the progress line lively and cheap.
const POLL_MS = 500;

const JobResponse = z.object({ job: Job });
const ListResponse = z.object({ libraries: z.array(LibrarySummary) });
const RemoveResponse = z.object({ removed: z.literal(true) });

/** A Backend over HTTP; server errors come back as EngineError with the server's code. */
export function createRemoteBackend(
  baseUrl: string,
  token: string | undefined,
  opts: { client?: 'mcp' } = {},
): Backend {
  // Calls forwarded by `twinmcp mcp` are MCP calls in the usage record, not REST ones.
  const headers: Record<string, string> = {
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...(opts.client ? { [CLIENT_HEADER]: opts.client } : {}),
  };
  async function call(path: string, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(new URL(path.replace(/^\//, ''), `${baseUrl.replace(/\/+$/, '')}/`), {
        ...init,
        headers: { ...headers, ...(init.headers ?? {}) },
      });
    } catch (err) {
      const cause =
        err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      throw new Error(`Could not reach the TwinMCP server at ${baseUrl}${cause}`);
    }
    if (!res.ok) throw await toError(res);
    return res;
  }
  const json = async <T>(schema: z.ZodType<T>, path: string, init?: RequestInit): Promise<T> =>
    schema.parse(await (await call(path, init)).json());

  const getJob = (id: string) => json(JobResponse, `/api/v1/jobs/${encodeURIComponent(id)}`);

  return {
    kind: 'remote',
    async resolve(libraryName, query) {
      const params = new URLSearchParams({ libraryName, ...(query ? { query } : {}) });
      return (await json(SearchResponse, `/api/v1/libs/search?${params}`)).results;
    },
    async query(libraryId, query, tokens, type) {
      const params = new URLSearchParams({
        libraryId,
        query,
        type,
        ...(tokens ? { tokens: String(tokens) } : {}),
      });
      const res = await call(`/api/v1/context?${params}`);
      return type === 'json'
        ? { type, json: ContextResponse.parse(await res.json()) }
        : { type, text: await res.text() };
    },
    list: async () => (await json(ListResponse, '/api/v1/libs')).libraries,
    async add(body: AddSourceBody) {
      const init = {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      };
      return (await json(JobResponse, '/api/v1/libs', init)).job;
    },
    async waitForJob(id, onProgress) {
      for (;;) {
        const { job } = await getJob(id);
        onProgress(job);
        if (TERMINAL.has(job.state)) return job;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
    async refresh(libraryId) {
      return json(RefreshResponse, '/api/v1/libs/refresh', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(libraryId !== undefined ? { libraryId } : {}),
      });
    },
    async remove(libraryId) {
      await json(RemoveResponse, `/api/v1/libs?${new URLSearchParams({ libraryId })}`, {
        method: 'DELETE',
      });
    },
    async listJobs(states) {
      const params = states?.length ? `?${new URLSearchParams({ state: states.join(',') })}` : '';
      return (await json(JobList, `/api/v1/jobs${params}`)).jobs;
    },
    async cancelJob(id) {
      const path = `/api/v1/jobs/${encodeURIComponent(id)}`;
      return (await json(JobResponse, path, { method: 'DELETE' })).job;
    },
    // Nothing to release: the server owns the engine and the lock.
    close: async () => undefined,
  };
}

async function toError(res: Response): Promise<Error> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const parsed = ErrorBody.safeParse(body);
  if (parsed.success) {
    const suggestions = z.object({ suggestions: z.array(z.string()) }).safeParse(body);
    return new EngineError(
      parsed.data.error,
      parsed.data.message,
      suggestions.success ? suggestions.data.suggestions : [],
    );
  }
  return new Error(
    `Server answered ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`,
  );
}
