/**
 * REST client for a TwinMCP server: JSON calls and the chat event stream. Node's http/https on
 * purpose: VS Code patches those modules for its `http.proxy` settings, so requests honour them.
 * No vscode import here, so unit tests run it against loopback servers.
 */
import http from 'node:http';
import https from 'node:https';
import type { ServerEvent } from '../shared/chat.js';
import { SseParser } from './sse.js';

/** A failed call, with the server's error code when it sent one (`network` when unreachable). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ClientConfig {
  /** Current server URL (settings may change between calls). */
  serverUrl: () => string;
  /** Current API key, when signed in. */
  key: () => Promise<string | undefined>;
}

export interface CallOptions {
  method?: 'GET' | 'POST' | 'DELETE';
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Use this key instead of the stored one (validating a pasted key). */
  key?: string;
  /** Set `x-twinmcp-client` (e.g. `hover`). */
  client?: string;
  timeoutMs?: number;
}

// shared/account.ts defines it but evaluates zod on import; the activation path must not.
export const CLIENT_HEADER = 'x-twinmcp-client';
// A REST call answers in milliseconds on a healthy server; 15 s covers a cold hosted instance.
const DEFAULT_TIMEOUT_MS = 15_000;
// Chat streams pause while the model thinks; the server's idle timer is 60 s, so allow more.
const STREAM_IDLE_MS = 120_000;

/** Joins the server URL and an API path (`/api/v1/...`), keeping a path prefix on the server URL. */
export function apiUrl(serverUrl: string, path: string, query?: CallOptions['query']): URL {
  const url = new URL(path.replace(/^\//, ''), `${serverUrl.replace(/\/+$/, '')}/`);
  for (const [k, v] of Object.entries(query ?? {}))
    if (v !== undefined) url.searchParams.set(k, String(v));
  return url;
}

/** The user-facing message for a non-2xx answer (server errors are `{error, message}` JSON). */
export function errorFromResponse(status: number, bodyText: string, serverUrl: string): ApiError {
  let code = `http_${status}`;
  let message = '';
  try {
    const body = JSON.parse(bodyText) as {
      error?: unknown;
      message?: unknown;
      error_description?: unknown;
    };
    if (typeof body.error === 'string') code = body.error;
    if (typeof body.message === 'string') message = body.message;
    else if (typeof body.error_description === 'string') message = body.error_description;
  } catch {
    // Not JSON: a proxy or another program answered.
  }
  if (status === 401) {
    return new ApiError(
      `TwinMCP rejected the API key${message ? `: ${message}` : ''}. Run "TwinMCP: Sign In".`,
      status,
      code === `http_${status}` ? 'unauthorized' : code,
    );
  }
  if (!message) {
    message = `The server at ${serverUrl} answered HTTP ${status}${bodyText ? `: ${bodyText.slice(0, 200)}` : ''}`;
  }
  return new ApiError(message, status, code);
}

/** Maps a socket-level failure to a message that says what to do. */
export function networkError(err: unknown, serverUrl: string): ApiError {
  const code = (err as { code?: string }).code ?? '';
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused: is the server running? (`npx twinmcp serve`)'
      : code === 'ENOTFOUND'
        ? 'host not found'
        : code === 'ETIMEDOUT' || code === 'timeout'
          ? 'timed out'
          : err instanceof Error
            ? err.message
            : String(err);
  return new ApiError(
    `Cannot reach the TwinMCP server at ${serverUrl} (${why}). Check the twinmcp.serverUrl setting.`,
    0,
    'network',
  );
}

interface RawResponse {
  status: number;
  stream: http.IncomingMessage;
}

/** The REST client; every call reads the current URL and key. */
export class ServerClient {
  constructor(readonly config: ClientConfig) {}

  private async open(path: string, opts: CallOptions, accept: string): Promise<RawResponse> {
    const serverUrl = this.config.serverUrl();
    let url: URL;
    try {
      url = apiUrl(serverUrl, path, opts.query);
    } catch {
      throw new ApiError(`twinmcp.serverUrl "${serverUrl}" is not a URL`, 0, 'bad_url');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ApiError(
        `twinmcp.serverUrl must be http:// or https://, got ${url.protocol}`,
        0,
        'bad_url',
      );
    }
    const key = opts.key ?? (await this.config.key());
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string> = {
      accept,
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(opts.client ? { [CLIENT_HEADER]: opts.client } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    };
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise<RawResponse>((resolve, reject) => {
      if (opts.signal?.aborted) return reject(new ApiError('Cancelled', 0, 'cancelled'));
      const req = lib.request(url, { method: opts.method ?? 'GET', headers }, (res) =>
        resolve({ status: res.statusCode ?? 0, stream: res }),
      );
      const onAbort = () => req.destroy(new ApiError('Cancelled', 0, 'cancelled'));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => opts.signal?.removeEventListener('abort', onAbort));
      req.setTimeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, () =>
        req.destroy(Object.assign(new Error('timed out'), { code: 'timeout' })),
      );
      req.on('error', (err) =>
        reject(err instanceof ApiError ? err : networkError(err, serverUrl)),
      );
      req.end(body);
    });
  }

  /** A JSON call; throws ApiError for non-2xx answers and network failures. */
  async json<T>(path: string, opts: CallOptions = {}): Promise<T> {
    const res = await this.open(path, opts, 'application/json');
    const text = await readAll(res.stream, opts.signal);
    if (res.status < 200 || res.status >= 300) {
      throw errorFromResponse(res.status, text, this.config.serverUrl());
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(
        `The server answered ${path} with something that is not JSON`,
        res.status,
        'bad_response',
      );
    }
  }

  /**
   * `POST /api/v1/chat`: yields each server event as it arrives. Aborting `signal` closes the
   * request, which the server takes as a cancel (it stops the model too).
   */
  async *chat(body: unknown, signal: AbortSignal): AsyncGenerator<ServerEvent> {
    const res = await this.open(
      '/api/v1/chat',
      { method: 'POST', body, signal, timeoutMs: STREAM_IDLE_MS },
      'text/event-stream',
    );
    if (res.status !== 200) {
      throw errorFromResponse(
        res.status,
        await readAll(res.stream, signal),
        this.config.serverUrl(),
      );
    }
    const parser = new SseParser();
    res.stream.setEncoding('utf8');
    try {
      for await (const chunk of res.stream) {
        for (const msg of parser.push(chunk as string)) {
          try {
            yield JSON.parse(msg.data) as ServerEvent;
          } catch {
            // A frame we cannot read is skipped; the stream's own `error` event reports failures.
          }
        }
      }
    } catch (err) {
      if (signal.aborted) throw new ApiError('Cancelled', 0, 'cancelled');
      throw networkError(err, this.config.serverUrl());
    }
  }
}

function readAll(stream: http.IncomingMessage, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (text += c));
    stream.on('end', () => resolve(text));
    stream.on('error', (err) =>
      reject(signal?.aborted ? new ApiError('Cancelled', 0, 'cancelled') : err),
    );
    stream.on('aborted', () => reject(new ApiError('Cancelled', 0, 'cancelled')));
  });
}
