/**
 * A local server speaking OpenAI's embeddings wire format, so the official `openai` SDK runs end
 * to end offline: POST /v1/embeddings {input, model, dimensions?, encoding_format} ->
 * {object: 'list', data: [{object: 'embedding', index, embedding}], model, usage}. `embedding` is
 * a float array, or base64 of little-endian float32 when encoding_format is 'base64' (the SDK's
 * default). Errors use OpenAI's `{error: {message, type, param, code}}` body.
 *
 * Vectors are deterministic: a hashed bag of (crudely stemmed) words, seeded by the model name,
 * so similar texts get similar vectors and another model gives other vectors. `synonyms` maps
 * words onto others, standing in for what a real model knows that word overlap does not.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { DEFAULT_HYBRID, type EmbeddingsConfig } from '../../server/embeddings/config.js';

export interface FakeEmbeddingsOptions {
  /** Required bearer token; absent = any. */
  apiKey?: string;
  /** word -> word it means (both lower case). */
  synonyms?: Record<string, string>;
  /** Milliseconds before each answer. */
  delayMs?: number;
}

type Failure = { status: number; retryAfter?: string; retryAfterMs?: string } | 'disconnect';

export interface EmbeddingsRequestLog {
  model: string;
  inputs: number;
  dimensions?: number;
  encodingFormat?: string;
  status: number;
}

function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function words(text: string, synonyms: Record<string, string>): string[] {
  return (text.toLowerCase().match(/[a-z0-9]+/g) ?? [])
    .map((w) => (w.length > 4 ? w.replace(/(ing|ed|es|s)$/, '') : w))
    .map((w) => (Object.hasOwn(synonyms, w) ? synonyms[w]! : w));
}

/** The fake model's unit vector for `text`: each word adds +-1 at a hashed position. */
export function fakeEmbedding(
  text: string,
  model: string,
  dimensions: number,
  synonyms: Record<string, string> = {},
): Float32Array {
  const v = new Float32Array(dimensions);
  const seed = fnv1a(model);
  for (const w of words(text, synonyms)) {
    const h = fnv1a(w, seed);
    v[h % dimensions]! += h & 0x80000000 ? -1 : 1;
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  return v;
}

const NATIVE_DIMENSIONS: Record<string, number> = { 'text-embedding-3-large': 3072 };

export class FakeEmbeddingsServer {
  /** Inputs embedded and answered, by model. */
  readonly inputsByModel = new Map<string, number>();
  readonly log: EmbeddingsRequestLog[] = [];
  /** Every input text answered, in order. */
  readonly texts: string[] = [];
  /** While true, every connection is dropped without an answer (provider down). */
  down = false;
  private failures: Failure[] = [];
  private failAfterInputs: { inputs: number; failure: Failure } | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly opts: FakeEmbeddingsOptions,
  ) {
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(opts: FakeEmbeddingsOptions = {}): Promise<FakeEmbeddingsServer> {
    const holder: { self?: FakeEmbeddingsServer } = {};
    const server = createServer((req, res) => {
      holder.self!.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(err));
      });
    });
    // Idle keep-alive sockets live a minute, as at most providers: Node's 5 s default races the
    // client's reuse of a socket on a loaded machine.
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    holder.self = new FakeEmbeddingsServer(server, `http://127.0.0.1:${port}/v1`, opts);
    return holder.self;
  }

  /** Inputs answered for all models. */
  get inputs(): number {
    let n = 0;
    for (const v of this.inputsByModel.values()) n += v;
    return n;
  }

  /** The next `count` requests fail with `failure` (an HTTP status, or a dropped connection). */
  failNext(count: number, failure: Failure): void {
    for (let i = 0; i < count; i++) this.failures.push(failure);
  }

  /** Once `inputs` more inputs have been answered, every request fails until `recover()`. */
  dieAfter(inputs: number, failure: Failure): void {
    this.failAfterInputs = { inputs: this.inputs + inputs, failure };
  }

  recover(): void {
    this.failures = [];
    this.failAfterInputs = undefined;
    this.down = false;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.down) {
      req.socket.destroy();
      return;
    }
    const error = (status: number, message: string, type: string, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify({ error: { message, type, param: null, code: null } }));
    };
    if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
      return error(404, `Unknown request URL: ${req.method} ${req.url}`, 'invalid_request_error');
    }
    let body: {
      input?: unknown;
      model?: unknown;
      dimensions?: unknown;
      encoding_format?: unknown;
    };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      return error(
        400,
        'We could not parse the JSON body of your request.',
        'invalid_request_error',
      );
    }
    const model = typeof body.model === 'string' ? body.model : '';
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    const entry: EmbeddingsRequestLog = {
      model,
      inputs: Array.isArray(inputs) ? inputs.length : 0,
      ...(typeof body.dimensions === 'number' ? { dimensions: body.dimensions } : {}),
      ...(typeof body.encoding_format === 'string' ? { encodingFormat: body.encoding_format } : {}),
      status: 200,
    };
    this.log.push(entry);
    if (this.opts.apiKey && req.headers.authorization !== `Bearer ${this.opts.apiKey}`) {
      entry.status = 401;
      return error(401, 'Incorrect API key provided.', 'invalid_request_error');
    }
    const failure =
      this.failures.shift() ??
      (this.failAfterInputs && this.inputs >= this.failAfterInputs.inputs
        ? this.failAfterInputs.failure
        : undefined);
    if (failure === 'disconnect') {
      entry.status = 0;
      req.socket.destroy();
      return;
    }
    if (failure) {
      entry.status = failure.status;
      const headers: Record<string, string> = {};
      if (failure.retryAfter !== undefined) headers['retry-after'] = failure.retryAfter;
      if (failure.retryAfterMs !== undefined) headers['retry-after-ms'] = failure.retryAfterMs;
      return error(
        failure.status,
        failure.status === 429 ? 'Rate limit reached for requests' : 'The server had an error',
        failure.status === 429 ? 'requests' : 'server_error',
        headers,
      );
    }
    const fail400 = (message: string) => {
      entry.status = 400;
      error(400, message, 'invalid_request_error');
    };
    if (!model) return fail400('you must provide a model parameter');
    if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > 2048) {
      return fail400("'$.input' is invalid. Please check the API reference.");
    }
    if (!inputs.every((x): x is string => typeof x === 'string' && x.length > 0)) {
      return fail400("'$.input' must be non-empty strings (token arrays are not supported here).");
    }
    const format = body.encoding_format ?? 'float';
    if (format !== 'float' && format !== 'base64') {
      return fail400("'encoding_format' must be 'float' or 'base64'");
    }
    const dims =
      typeof body.dimensions === 'number' ? body.dimensions : (NATIVE_DIMENSIONS[model] ?? 1536);
    if (this.opts.delayMs) await new Promise((r) => setTimeout(r, this.opts.delayMs));
    let tokens = 0;
    const data = inputs.map((text, index) => {
      tokens += Math.ceil(text.length / 4);
      this.texts.push(text);
      const v = fakeEmbedding(text, model, dims, this.opts.synonyms);
      const embedding =
        format === 'base64'
          ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')
          : Array.from(v);
      return { object: 'embedding', index, embedding };
    });
    this.inputsByModel.set(model, (this.inputsByModel.get(model) ?? 0) + inputs.length);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        object: 'list',
        data,
        model,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      }),
    );
  }
}

/** A configuration pointing at `url`, with fast retries. */
export function fakeConfig(url: string, over: Partial<EmbeddingsConfig> = {}): EmbeddingsConfig {
  return {
    provider: 'openai-compatible',
    model: 'fake-embed',
    dimensions: 64,
    baseUrl: url,
    batchSize: 8,
    concurrency: 2,
    maxRetries: 2,
    retryBaseMs: 5,
    timeoutMs: 5000,
    queryTimeoutMs: 1000,
    pricePerMillion: 0.02,
    hybrid: DEFAULT_HYBRID,
    ...over,
  };
}
