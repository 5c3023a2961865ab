/**
 * Load for the reliability runs: autocannon (programmatic API) sending a mix of query-docs (REST
 * and MCP) and resolve requests built from realistic questions, with every failed request kept
 * with its time so that a scenario can tell failures at a kill from failures after it.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface Question {
  libraryId: string;
  query: string;
}

export interface LoadMix {
  /** Questions for query-docs, against indexed library ids. */
  questions: Question[];
  /** Library names for resolve. */
  names: string[];
}

interface PlannedRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  kind: 'rest-query' | 'mcp-query' | 'rest-resolve' | 'mcp-resolve';
}

export interface Failure {
  /** When the failure arrived. */
  at: number;
  /**
   * When the request was sent: `at` minus its response time, or minus the timeout for a timeout
   * (for a reset, unknown: `at`). A request sent during an outage may fail after it ended.
   */
  sentAt: number;
  /** HTTP status, or 0 for a connection error or timeout. */
  status: number;
  error?: string;
}

export interface LoadResult {
  connections: number;
  durationS: number;
  requests: number;
  /** Connection errors and timeouts (autocannon's `errors`). */
  errors: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
  rps: number;
  startedAt: number;
  failures: Failure[];
  /** When each 2xx response arrived (ms since the epoch). */
  successes: number[];
}

// 10 s: above a loaded query's p99 (~7 s at 100 connections on 2 busy cores); a hang times out.
const TIMEOUT_S = 10;

const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

/**
 * Reads question text (never expectations) for the given libraries from the evaluation set:
 * `libraries` maps the set's library name to the id indexed in the run.
 */
export function questionsFrom(file: string, libraries: Record<string, string>): LoadMix {
  const questions: Question[] = [];
  const names = new Set<string>(Object.keys(libraries));
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const q = JSON.parse(line) as { type: string; library?: string; query: string };
    const libraryId = q.library ? libraries[q.library] : undefined;
    if (q.type === 'query' && libraryId) questions.push({ libraryId, query: q.query });
    if (q.type === 'resolve') names.add(q.query);
  }
  if (questions.length === 0)
    throw new Error(`no questions for ${Object.keys(libraries)} in ${file}`);
  return { questions, names: [...names] };
}

/** Half query-docs over REST, a quarter over MCP, a quarter resolve (REST and MCP). */
export function planRequests(mix: LoadMix): PlannedRequest[] {
  const planned: PlannedRequest[] = [];
  let id = 0;
  const mcp = (name: string, args: Record<string, unknown>) =>
    JSON.stringify({
      jsonrpc: '2.0',
      id: ++id,
      method: 'tools/call',
      params: { name, arguments: args },
    });
  mix.questions.forEach((q, i) => {
    const params = new URLSearchParams({ libraryId: q.libraryId, query: q.query, tokens: '3000' });
    planned.push({ kind: 'rest-query', method: 'GET', path: `/api/v1/context?${params}` });
    if (i % 2 === 0) {
      const body = mcp('query-docs', { libraryId: q.libraryId, query: q.query, tokens: 3000 });
      planned.push({ kind: 'mcp-query', method: 'POST', path: '/mcp', headers: MCP_HEADERS, body });
    }
  });
  mix.names.forEach((name, i) => {
    if (i % 2 === 0) {
      const params = new URLSearchParams({ libraryName: name, query: name });
      planned.push({ kind: 'rest-resolve', method: 'GET', path: `/api/v1/libs/search?${params}` });
    } else {
      const body = mcp('resolve-library-id', { libraryName: name, query: name });
      planned.push({
        kind: 'mcp-resolve',
        method: 'POST',
        path: '/mcp',
        headers: MCP_HEADERS,
        body,
      });
    }
  });
  return planned;
}

/** Runs autocannon against `url` for `durationS` seconds with `connections` connections. */
export async function runLoad(opts: {
  url: string;
  mix: LoadMix;
  connections: number;
  durationS: number;
  /** Called once the load is running, with the time it started. */
  onStart?: () => void;
}): Promise<LoadResult> {
  const planned = planRequests(opts.mix);
  // A prime stride through the list: connections in flight ask different questions at a time.
  let next = 0;
  const pick = () => planned[(next = (next + 7919) % planned.length)]!;
  const failures: Failure[] = [];
  const successes: number[] = [];
  const startedAt = Date.now();
  let finish: (err: unknown, result: autocannon.Result) => void = () => {};
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = (err, result) => (err ? reject(err as Error) : resolve(result));
  });
  const options: autocannon.Options = {
    url: opts.url,
    connections: opts.connections,
    duration: opts.durationS,
    timeout: TIMEOUT_S,
    requests: [
      {
        setupRequest: (req) => {
          const r = pick();
          return {
            ...req,
            method: r.method,
            path: r.path,
            headers: { ...req.headers, ...(r.headers ?? {}) },
            ...(r.body !== undefined ? { body: r.body } : { body: undefined }),
          };
        },
      },
    ],
  };
  const instance = autocannon(options, (err, result) => finish(err, result));
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    const at = Date.now();
    if (statusCode < 200 || statusCode >= 300)
      failures.push({ at, sentAt: at - responseTime, status: statusCode });
    else successes.push(Date.now());
  });
  instance.on('reqError', (err: Error) => {
    const at = Date.now();
    const sentAt = /timed out/.test(err.message) ? at - TIMEOUT_S * 1000 : at;
    failures.push({ at, sentAt, status: 0, error: err.message });
  });
  opts.onStart?.();
  const result = await done;
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
    statusCodes[code] = Number((stat as { count: number }).count);
  }
  return {
    connections: opts.connections,
    durationS: opts.durationS,
    requests: result.requests.total,
    errors: result.errors,
    non2xx: result.non2xx,
    statusCodes,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    rps: result.requests.average,
    startedAt,
    failures,
    successes,
  };
}

/** One line for logs and the report. */
export function describeLoad(name: string, r: LoadResult): string {
  return (
    `${name}: ${r.requests} requests in ${r.durationS} s (${Math.round(r.rps)}/s) over ` +
    `${r.connections} connections; errors ${r.errors}, non-2xx ${r.non2xx}; ` +
    `latency p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms; status ${JSON.stringify(r.statusCodes)}`
  );
}
