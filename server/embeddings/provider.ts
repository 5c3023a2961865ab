/**
 * What the engine needs from an embedding model, and the retry and concurrency rules every
 * provider shares. Providers themselves (openai.ts) only translate one request.
 */
import type { EmbeddingProviderName } from './config.js';

export interface EmbedOptions {
  signal?: AbortSignal;
  /** Per attempt. */
  timeoutMs?: number;
  /** Overrides the provider's retry count. */
  maxRetries?: number;
  /** Overrides the provider's first backoff. */
  retryBaseMs?: number;
}

export interface EmbeddingBatch {
  /** One vector per input, in input order. */
  vectors: Float32Array[];
  /** Tokens the provider billed (its `usage.total_tokens`). */
  tokens: number;
  /** Attempts that failed and were retried. */
  retries: number;
}

export interface EmbeddingProvider {
  readonly name: Exclude<EmbeddingProviderName, 'none'>;
  readonly model: string;
  /** The requested dimension; absent = whatever the model returns. */
  readonly dimensions?: number;
  /** Embeds `inputs` in one request, retrying 429, 5xx and connection errors with backoff. */
  embed(inputs: string[], opts?: EmbedOptions): Promise<EmbeddingBatch>;
}

/** A provider failure. `retryable` failures fail an indexing attempt; the job runner retries it. */
export class EmbeddingError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'EmbeddingError';
  }
}

export interface Failure {
  retryable: boolean;
  /** What the server asked for (Retry-After / retry-after-ms), in ms. */
  retryAfterMs?: number;
  status?: number;
}

/** Longest we honour a Retry-After: a minute keeps an indexing attempt alive; beyond, the job retries. */
const MAX_RETRY_AFTER_MS = 60_000;
const MAX_BACKOFF_MS = 20_000;

/** Milliseconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(
  get: (name: string) => string | null | undefined,
  now = Date.now(),
): number | undefined {
  const ms = Number(get('retry-after-ms'));
  if (get('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const raw = get('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new EmbeddingError('embedding cancelled', false));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new EmbeddingError('embedding cancelled', false));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds, a failure is not retryable, or `maxRetries` retries are used.
 * Waits the server's Retry-After when it sent one, else `baseMs * 2^n` with full jitter.
 */
export async function withRetries<T>(
  attempt: () => Promise<T>,
  classify: (err: unknown) => Failure,
  opts: { maxRetries: number; baseMs: number; signal?: AbortSignal },
): Promise<{ value: T; retries: number }> {
  for (let retries = 0; ; retries++) {
    try {
      return { value: await attempt(), retries };
    } catch (err) {
      const failure = classify(err);
      if (!failure.retryable || retries >= opts.maxRetries || opts.signal?.aborted) {
        const message = err instanceof Error ? err.message : String(err);
        throw new EmbeddingError(
          `embedding request failed${retries > 0 ? ` after ${retries + 1} attempts` : ''}: ${message}`,
          failure.retryable,
          failure.status,
        );
      }
      const backoff = Math.min(MAX_BACKOFF_MS, opts.baseMs * 2 ** retries);
      const wait =
        failure.retryAfterMs !== undefined
          ? Math.min(failure.retryAfterMs, MAX_RETRY_AFTER_MS)
          : backoff / 2 + (Math.random() * backoff) / 2;
      await sleep(wait, opts.signal);
    }
  }
}

/** At most `limit` tasks at once; the rest wait in order. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so none can jump the queue.
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** `v` scaled to unit length (cosine = dot product); a zero vector stays zero. */
export function normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.sqrt(sum);
  if (norm === 0) return v;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / norm;
  return out;
}
