/**
 * Local fakes of the paid LLM vendors, speaking their real streaming wire formats so the official
 * SDKs run end to end against them:
 * - OpenAI Chat Completions: `POST /v1/chat/completions`, `data: {chat.completion.chunk}` lines,
 *   a usage chunk when `stream_options.include_usage`, then `data: [DONE]`.
 * - Anthropic Messages: `POST /v1/messages`, `event: message_start / content_block_start / ping /
 *   content_block_delta / content_block_stop / message_delta / message_stop`, usage in
 *   message_start (input) and message_delta (output).
 * Each request is recorded with its body and a promise that settles when its connection ends, so a
 * test can see that a cancelled answer really closed the HTTP stream.
 */
import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { ServerEvent } from '../../shared/chat.js';

export type Vendor = 'openai' | 'anthropic';

/** What the fake does with one request. */
export type FakeBehavior =
  /** Streams these text chunks and ends normally. */
  | { kind: 'answer'; chunks: string[]; usage?: { input: number; output: number } }
  /** Streams `chunk` every `everyMs` until the client goes away (or `max` chunks, then ends). */
  | { kind: 'drip'; chunk: string; everyMs: number; max?: number }
  /** Streams these chunks, then sends nothing more and keeps the connection open. */
  | { kind: 'stall'; chunks: string[] }
  /** Answers with an HTTP error in the vendor's error body format. */
  | { kind: 'status'; status: number; message: string }
  /** Starts streaming, then sends the vendor's in-stream error event. */
  | { kind: 'stream-error'; chunks: string[]; message: string };

export interface FakeCall {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** Settles when the connection ends: `aborted` when the client closed it before the end. */
  closed: Promise<{ aborted: boolean; chunksWritten: number }>;
}

export interface FakeLlm {
  vendor: Vendor;
  /** The base URL to give the SDK (`.../v1` for OpenAI, the root for Anthropic). */
  baseUrl: string;
  readonly calls: FakeCall[];
  /** Decides each request's behaviour; replace it per test. */
  respond: (call: FakeCall) => FakeBehavior;
  /** Resolves with the first request received after this call. */
  nextCall(): Promise<FakeCall>;
  close(): Promise<void>;
}

export const FAKE_API_KEY = 'sk-fake-test-key';

const OPENAI_PATH = '/v1/chat/completions';
const ANTHROPIC_PATH = '/v1/messages';

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function errorBody(vendor: Vendor, status: number, message: string): unknown {
  if (vendor === 'openai') {
    const type =
      status === 401
        ? 'invalid_request_error'
        : status >= 500
          ? 'server_error'
          : 'invalid_request_error';
    return {
      error: { message, type, param: null, code: status === 401 ? 'invalid_api_key' : null },
    };
  }
  const type =
    status === 401
      ? 'authentication_error'
      : status === 429
        ? 'rate_limit_error'
        : status >= 500
          ? 'api_error'
          : 'invalid_request_error';
  return { type: 'error', error: { type, message } };
}

/** Why a request does not look like one the vendor would accept, or undefined. */
function invalid(
  vendor: Vendor,
  path: string,
  headers: IncomingHttpHeaders,
  body: Record<string, unknown>,
) {
  if (vendor === 'openai') {
    if (path !== OPENAI_PATH) return { status: 404, message: `Unknown path ${path}` };
    if (headers.authorization !== `Bearer ${FAKE_API_KEY}`)
      return { status: 401, message: 'Incorrect API key provided' };
    if (typeof body.model !== 'string') return { status: 400, message: 'model is required' };
    if (!Array.isArray(body.messages) || body.messages.length === 0)
      return { status: 400, message: 'messages is required' };
    if (body.stream !== true) return { status: 400, message: 'this fake only streams' };
    return undefined;
  }
  if (path !== ANTHROPIC_PATH) return { status: 404, message: `Unknown path ${path}` };
  // The API takes the key as x-api-key; SDK 1.x sends it as a bearer token.
  if (headers['x-api-key'] !== FAKE_API_KEY && headers.authorization !== `Bearer ${FAKE_API_KEY}`) {
    return { status: 401, message: 'invalid x-api-key' };
  }
  if (typeof headers['anthropic-version'] !== 'string')
    return { status: 400, message: 'anthropic-version header is required' };
  if (typeof body.model !== 'string') return { status: 400, message: 'model: Field required' };
  if (typeof body.max_tokens !== 'number')
    return { status: 400, message: 'max_tokens: Field required' };
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return { status: 400, message: 'messages: Field required' };
  if (body.stream !== true) return { status: 400, message: 'this fake only streams' };
  return undefined;
}

/** Writes one stream in a vendor's format; `text` per chunk, `finish` at the end. */
interface Encoder {
  start(): string;
  text(t: string): string;
  finish(usage: { input: number; output: number }): string;
  error(message: string): string;
}

function openAiEncoder(model: string, includeUsage: boolean): Encoder {
  const base = {
    id: 'chatcmpl-fake1',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model,
    system_fingerprint: null,
  };
  const line = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
  return {
    start: () =>
      line({
        ...base,
        choices: [
          {
            index: 0,
            delta: { role: 'assistant', content: '' },
            logprobs: null,
            finish_reason: null,
          },
        ],
      }),
    text: (t) =>
      line({
        ...base,
        choices: [{ index: 0, delta: { content: t }, logprobs: null, finish_reason: null }],
      }),
    finish: (u) =>
      line({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] }) +
      (includeUsage
        ? line({
            ...base,
            choices: [],
            usage: {
              prompt_tokens: u.input,
              completion_tokens: u.output,
              total_tokens: u.input + u.output,
            },
          })
        : '') +
      'data: [DONE]\n\n',
    error: (message) => line({ error: { message, type: 'server_error', param: null, code: null } }),
  };
}

function anthropicEncoder(model: string, inputTokens: number): Encoder {
  const ev = (name: string, o: unknown) => `event: ${name}\ndata: ${JSON.stringify(o)}\n\n`;
  return {
    start: () =>
      ev('message_start', {
        type: 'message_start',
        message: {
          id: 'msg_fake1',
          type: 'message',
          role: 'assistant',
          content: [],
          model,
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: inputTokens,
            output_tokens: 1,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
          },
        },
      }) +
      ev('content_block_start', {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'text', text: '' },
      }) +
      ev('ping', { type: 'ping' }),
    text: (t) =>
      ev('content_block_delta', {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text: t },
      }),
    finish: (u) =>
      ev('content_block_stop', { type: 'content_block_stop', index: 0 }) +
      ev('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: u.output },
      }) +
      ev('message_stop', { type: 'message_stop' }),
    error: (message) =>
      ev('error', { type: 'error', error: { type: 'overloaded_error', message } }),
  };
}

/** A rough, deterministic prompt size: 4 characters a token. */
function promptTokens(body: Record<string, unknown>): number {
  return Math.ceil(JSON.stringify([body.system ?? '', body.messages]).length / 4);
}

/** Starts a fake of `vendor` on 127.0.0.1 at a random port. */
export async function startFakeLlm(vendor: Vendor): Promise<FakeLlm> {
  const calls: FakeCall[] = [];
  const waiting: ((c: FakeCall) => void)[] = [];
  const fake: FakeLlm = {
    vendor,
    baseUrl: '',
    calls,
    respond: () => ({ kind: 'answer', chunks: ['OK'] }),
    nextCall: () => new Promise((r) => waiting.push(r)),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
      } catch {
        return sendJson(res, 400, errorBody(vendor, 400, 'body is not JSON'));
      }
      let chunksWritten = 0;
      const closed = new Promise<{ aborted: boolean; chunksWritten: number }>((resolve) => {
        res.on('close', () => resolve({ aborted: !res.writableEnded, chunksWritten }));
      });
      const call: FakeCall = { path: req.url ?? '', headers: req.headers, body, closed };
      calls.push(call);
      for (const waiter of waiting.splice(0)) waiter(call);
      const bad = invalid(vendor, call.path, req.headers, body);
      if (bad) return sendJson(res, bad.status, errorBody(vendor, bad.status, bad.message));
      const behavior = fake.respond(call);
      if (behavior.kind === 'status') {
        return sendJson(res, behavior.status, errorBody(vendor, behavior.status, behavior.message));
      }
      const model = String(body.model);
      const given = behavior.kind === 'answer' ? behavior.usage : undefined;
      const input = given?.input ?? promptTokens(body);
      const includeUsage =
        (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
      const enc =
        vendor === 'openai' ? openAiEncoder(model, includeUsage) : anthropicEncoder(model, input);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(enc.start());
      const write = (t: string) => {
        chunksWritten++;
        res.write(enc.text(t));
      };
      if (behavior.kind === 'answer') {
        behavior.chunks.forEach(write);
        res.end(enc.finish(given ?? { input, output: behavior.chunks.length }));
      } else if (behavior.kind === 'stall') {
        behavior.chunks.forEach(write);
      } else if (behavior.kind === 'stream-error') {
        behavior.chunks.forEach(write);
        res.end(enc.error(behavior.message));
      } else {
        const timer = setInterval(() => {
          if (res.destroyed || res.writableEnded) return clearInterval(timer);
          if (behavior.max !== undefined && chunksWritten >= behavior.max) {
            clearInterval(timer);
            res.end(enc.finish({ input, output: chunksWritten }));
            return;
          }
          write(behavior.chunk);
        }, behavior.everyMs);
        res.on('close', () => clearInterval(timer));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  fake.baseUrl = vendor === 'openai' ? `http://127.0.0.1:${port}/v1` : `http://127.0.0.1:${port}`;
  return fake;
}

// Clients of our own chat endpoints (WebSocket and server-sent events), for the tests that drive
// these fakes through them.

/** A chat WebSocket whose incoming events queue up for `next()`. */
export class ChatSocket {
  private queue: ServerEvent[] = [];
  private waiters: ((e: ServerEvent) => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const event = ServerEvent.parse(JSON.parse(String(data)));
      const waiter = this.waiters.shift();
      if (waiter) waiter(event);
      else this.queue.push(event);
    });
  }

  static async open(port: number, headers: Record<string, string> = {}): Promise<ChatSocket> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/chat`, { headers });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      // Rejects once the server closed the refused connection (a client must not have to).
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        res.socket.once('close', () =>
          reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)),
        );
      });
    });
    return new ChatSocket(ws);
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  next(): Promise<ServerEvent> {
    const queued = this.queue.shift();
    return queued ? Promise.resolve(queued) : new Promise((r) => this.waiters.push(r));
  }

  /** Events until (and including) the `done` or `error` of question `id`; others' events too. */
  async untilEnd(id: string): Promise<ServerEvent[]> {
    const events: ServerEvent[] = [];
    for (;;) {
      const e = await this.next();
      events.push(e);
      if ((e.type === 'done' || e.type === 'error') && e.id === id) return events;
    }
  }

  /** Asks and collects the answer's events. */
  async ask(ask: Record<string, unknown> & { id: string; text: string }): Promise<ServerEvent[]> {
    this.send({ type: 'ask', ...ask });
    return this.untilEnd(ask.id);
  }

  close(): void {
    this.ws.close();
  }
}

/** Parses a server-sent events body into our events, checking `event:` matches the type. */
export function parseSse(body: string): ServerEvent[] {
  return body
    .split('\n\n')
    .filter((frame) => frame.trim().length > 0)
    .map((frame) => {
      const name = /^event: (.+)$/m.exec(frame)?.[1];
      const data = /^data: (.+)$/m.exec(frame)?.[1];
      const event = ServerEvent.parse(JSON.parse(data ?? 'null'));
      if (name !== event.type) throw new Error(`SSE event name ${name} for a ${event.type} event`);
      return event;
    });
}

/** POSTs a question to `/api/v1/chat` and returns the status, content type and events. */
export async function postChat(
  port: number,
  body: unknown,
): Promise<{ status: number; type: string; events: ServerEvent[]; raw: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const raw = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return {
    status: res.status,
    type,
    raw,
    events: type.startsWith('text/event-stream') ? parseSse(raw) : [],
  };
}
