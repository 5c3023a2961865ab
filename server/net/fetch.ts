/**
 * HTTP GET through the SSRF guard: every hop (the first URL and each redirect) is checked before
 * a request is made, and sockets connect through the guard's pinned lookup. Redirects are
 * followed by hand for that reason. Honours HTTPS_PROXY / HTTP_PROXY / NO_PROXY.
 */
import { Agent, EnvHttpProxyAgent, request, type Dispatcher } from 'undici';
import type { FetchGuard } from './guard.js';

export interface SafeFetchOptions {
  guard: FetchGuard;
  /** Shared connection pool from {@link createDispatcher}; one per call when absent. */
  dispatcher?: Dispatcher;
  headers?: Record<string, string>;
  /** Whole request including the body. Default {@link DEFAULT_FETCH_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Body size cap; larger bodies fail with TooLargeError. Default {@link DEFAULT_MAX_BODY_BYTES}. */
  maxBytes?: number;
  /** Default 5, as browsers allow ~20 but documentation sites rarely chain more than 2. */
  maxRedirects?: number;
  signal?: AbortSignal;
}

export interface FetchResult {
  /** The URL that answered (after redirects). */
  url: string;
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  /** URLs redirected from, in order. */
  redirects: string[];
}

/** 15 s: a documentation page that takes longer is not worth holding a crawl slot for. */
export const DEFAULT_FETCH_TIMEOUT_MS = 15_000;
/** 5 MiB: the largest page of the corpus is ~0.8 MiB (a changelog); 6x leaves room. */
export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;

/** A body over the size cap. */
export class TooLargeError extends Error {
  constructor(
    readonly url: string,
    readonly limit: number,
  ) {
    super(`${url} is larger than the ${limit}-byte limit`);
    this.name = 'TooLargeError';
  }
}

/** A request that ran out of time. */
export class FetchTimeoutError extends Error {
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`${url} did not answer within ${timeoutMs} ms`);
    this.name = 'FetchTimeoutError';
  }
}

function hasProxy(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.HTTPS_PROXY ?? env.https_proxy ?? env.HTTP_PROXY ?? env.http_proxy);
}

/**
 * A connection pool whose sockets resolve through the guard. With a proxy configured, requests
 * not excluded by NO_PROXY go through it (the proxy resolves those names itself; the guard still
 * checks each URL's own resolution before the request is sent).
 */
export function createDispatcher(
  guard: FetchGuard,
  env: NodeJS.ProcessEnv = process.env,
): Dispatcher {
  const connect = { lookup: guard.lookup };
  if (!hasProxy(env)) return new Agent({ connect });
  const httpProxy = env.HTTP_PROXY ?? env.http_proxy;
  const httpsProxy = env.HTTPS_PROXY ?? env.https_proxy;
  const noProxy = env.NO_PROXY ?? env.no_proxy;
  return new EnvHttpProxyAgent({
    connect,
    ...(httpProxy ? { httpProxy } : {}),
    ...(httpsProxy ? { httpsProxy } : {}),
    ...(noProxy !== undefined ? { noProxy } : {}),
  });
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function flatHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

async function readCapped(
  body: Dispatcher.ResponseData['body'],
  url: string,
  maxBytes: number,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    total += buf.length;
    if (total > maxBytes) {
      body.destroy();
      throw new TooLargeError(url, maxBytes);
    }
    parts.push(buf);
  }
  return Buffer.concat(parts);
}

// A kept-alive socket the server closed just as it was reused: the GET never reached the server
// (or is safe to repeat), so it is sent again on a fresh connection, at most twice.
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

async function requestWithRetry(
  url: string,
  options: {
    method: 'GET';
    headers: Record<string, string>;
    dispatcher: Dispatcher;
    signal: AbortSignal;
    headersTimeout: number;
    bodyTimeout: number;
  },
): Promise<Dispatcher.ResponseData> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await request(url, options);
    } catch (err) {
      const e = err as { code?: string; cause?: { code?: string } };
      const code = e.code ?? e.cause?.code ?? '';
      if (attempt >= 2 || !RESET_CODES.has(code) || options.signal.aborted) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)));
    }
  }
}

/**
 * GET a URL under the guard. Returns any final status (including 304 and 4xx/5xx) with its body;
 * throws BlockedAddressError for a refused hop, TooLargeError, FetchTimeoutError, or Error for
 * too many redirects and network failures.
 */
export async function safeFetch(url: string, opts: SafeFetchOptions): Promise<FetchResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxRedirects = opts.maxRedirects ?? 5;
  const timer = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timer]) : timer;
  const own = opts.dispatcher ? undefined : createDispatcher(opts.guard);
  const dispatcher = opts.dispatcher ?? own!;
  const redirects: string[] = [];
  let current = url;
  try {
    for (;;) {
      await opts.guard.check(current);
      const res = await requestWithRetry(current, {
        method: 'GET',
        headers: opts.headers ?? {},
        dispatcher,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const headers = flatHeaders(res.headers);
      if (REDIRECTS.has(res.statusCode) && headers.location) {
        await res.body.dump();
        if (redirects.length >= maxRedirects) {
          throw new Error(`${url}: more than ${maxRedirects} redirects`);
        }
        redirects.push(current);
        current = new URL(headers.location, current).href;
        continue;
      }
      const lengthHeader = Number(headers['content-length']);
      if (Number.isFinite(lengthHeader) && lengthHeader > maxBytes) {
        res.body.destroy();
        throw new TooLargeError(current, maxBytes);
      }
      const body = await readCapped(res.body, current, maxBytes);
      return { url: current, status: res.statusCode, headers, body, redirects };
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    const undiciTimeout = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
    if (undiciTimeout || (timer.aborted && !(opts.signal?.aborted ?? false))) {
      throw new FetchTimeoutError(current, timeoutMs);
    }
    throw err;
  } finally {
    await own?.close();
  }
}
