/**
 * The engine's embeddings: whether hybrid retrieval is possible at all (a provider configured and
 * a vector extension present), the question embedding with a short timeout and a breaker, the
 * provider's health as `/health` reports it, and embedding a staging version while it indexes.
 */
import type { Db } from '../db/db.js';
import type { EmbeddingsConfig } from './config.js';
import { embedVersion } from './embed-version.js';
import { createOpenAIProvider } from './openai.js';
import { normalize, type EmbeddingProvider } from './provider.js';
import { recordEmbedUsage, servingModels, type VersionEmbedding } from './store.js';
import { VectorCache } from './vector-index.js';
import { observeEmbeddings } from '../ops/observe.js';

/**
 * `off`: no provider configured. `unsupported`: a provider, but the database has no vector
 * extension (lexical-only). `unavailable`: the provider failed its last call. `ok`: it answered.
 */
export type EmbeddingsState = 'off' | 'unsupported' | 'unavailable' | 'ok';

export interface EmbeddingsHealth {
  state: EmbeddingsState;
  /** `hybrid` when queries on embedded versions fuse vectors in; else `lexical`. */
  search: 'lexical' | 'hybrid';
  model?: string;
}

/** After a failed question embedding, queries skip the provider this long (answering lexically). */
const BREAKER_MS = 30_000;
/** A health answer is reused this long, so a polling status bar costs one 2-token call a minute. */
const HEALTH_TTL_MS = 60_000;
/** Question vectors kept (6 KB each at 1,536-d: ~6 MB). */
const QUESTION_CACHE = 1000;

export class EmbeddingService {
  readonly vectors = new VectorCache();
  /** How long queries skip the provider after a failure (tests shorten it). */
  breakerMs = BREAKER_MS;
  private downUntil = 0;
  private lastOk = 0;
  private lastFailure = 0;
  private probe: Promise<void> | undefined;
  private readonly questions = new Map<string, Float32Array>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    readonly db: Db,
    readonly config: EmbeddingsConfig,
    readonly provider: EmbeddingProvider,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  /** A service when a provider is configured, else undefined (lexical only, nothing to say). */
  static create(
    db: Db,
    config: EmbeddingsConfig | undefined,
    log?: (msg: string) => void,
    provider?: EmbeddingProvider,
  ): EmbeddingService | undefined {
    if (!config || config.provider === 'none') return undefined;
    const base = provider ?? createOpenAIProvider(config);
    const service = new EmbeddingService(db, config, observeEmbeddings(base), log);
    if (!db.hasVector) {
      log?.(
        `embeddings: ${config.provider} ${config.model} configured, but the database has no vector extension: lexical-only`,
      );
    }
    return service;
  }

  /** Vectors can be stored and searched (the extension exists). */
  get usable(): boolean {
    return this.db.hasVector;
  }

  get model(): string {
    return this.provider.model;
  }

  /**
   * Embeds a staging version's chunks. Throws EmbeddingError on provider failure: the caller
   * fails the version and the job runner retries the attempt.
   */
  async embedVersion(opts: {
    versionId: number;
    libraryId: string;
    owner: string | null;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
  }): Promise<VersionEmbedding> {
    try {
      const record = await embedVersion(this.db, this.provider, {
        ...opts,
        batchSize: this.config.batchSize,
        concurrency: this.config.concurrency,
        ...(this.config.pricePerMillion !== undefined
          ? { pricePerMillion: this.config.pricePerMillion }
          : {}),
      });
      this.markOk();
      this.log(
        `embeddings: ${opts.libraryId}: ${record.vectors} vectors (${record.cached} cached), ${record.tokens} tokens, $${record.costUsd.toFixed(6)}`,
      );
      return record;
    } catch (err) {
      if ((err as { name?: string }).name === 'EmbeddingError') this.markDown();
      throw err;
    }
  }

  /**
   * The unit vector of a question, or undefined when the provider is down or slow (the query then
   * answers lexically). One quick retry only: it covers a reused keep-alive connection the server
   * had just closed (seen under load here), and a question must not wait for real backoff.
   */
  async embedQuestion(
    question: string,
    ctx: { owner: string | null; client: string; libraryId: string },
  ): Promise<Float32Array | undefined> {
    const key = question.trim();
    const hit = this.questions.get(key);
    if (hit) {
      this.questions.delete(key);
      this.questions.set(key, hit);
      return hit;
    }
    if (Date.now() < this.downUntil) return undefined;
    const started = performance.now();
    try {
      const result = await this.provider.embed([key], {
        timeoutMs: this.config.queryTimeoutMs,
        maxRetries: 1,
        retryBaseMs: 20,
      });
      const vector = normalize(result.vectors[0]!);
      this.markOk();
      this.questions.set(key, vector);
      if (this.questions.size > QUESTION_CACHE) {
        this.questions.delete(this.questions.keys().next().value!);
      }
      const write = recordEmbedUsage(this.db, {
        owner: ctx.owner,
        client: ctx.client,
        libraryId: ctx.libraryId,
        tokens: result.tokens,
        latencyMs: performance.now() - started,
        meta: {
          purpose: 'query',
          provider: this.provider.name,
          model: this.provider.model,
          costUsd: (result.tokens / 1e6) * (this.config.pricePerMillion ?? 0),
        },
      })
        .catch((err: unknown) => this.log(`usage event not recorded: ${(err as Error).message}`))
        .finally(() => this.pending.delete(write));
      this.pending.add(write);
      return vector;
    } catch (err) {
      this.markDown();
      this.log(`embeddings: question embedding failed, answering lexically: ${String(err)}`);
      return undefined;
    }
  }

  /**
   * For `/health`: the outcome of the last call to the provider, probed again when it is older
   * than a minute, or when it failed and the breaker has run out.
   */
  async health(): Promise<EmbeddingsHealth> {
    if (!this.usable) return { state: 'unsupported', search: 'lexical', model: this.model };
    const now = Date.now();
    const stale = now - Math.max(this.lastOk, this.lastFailure) > HEALTH_TTL_MS;
    const recheck = this.lastFailure > this.lastOk && now >= this.downUntil;
    if (stale || recheck) {
      this.probe ??= this.provider
        .embed(['health'], { timeoutMs: this.config.queryTimeoutMs, maxRetries: 0 })
        .then(
          () => this.markOk(),
          (err: unknown) => {
            this.log(`embeddings: health probe failed: ${String(err)}`);
            this.markDown();
          },
        )
        .finally(() => (this.probe = undefined));
      await this.probe;
    }
    const up = this.lastOk > 0 && this.lastOk >= this.lastFailure;
    return up
      ? { state: 'ok', search: 'hybrid', model: this.model }
      : { state: 'unavailable', search: 'lexical', model: this.model };
  }

  /**
   * The pipeline's `beforePromote` for one indexing job: embeds the complete staging version.
   * Undefined when vectors cannot be stored (no vector extension): the library indexes lexical-only.
   */
  beforePromote(job: {
    libraryId: string;
    owner: string | null;
    signal?: AbortSignal;
  }): ((versionId: number, phase: (name: string) => void) => Promise<void>) | undefined {
    if (!this.usable) return undefined;
    return async (versionId, phase) => {
      phase('embedding');
      await this.embedVersion({ ...job, versionId });
    };
  }

  /** Model of each serving version's vectors, keyed `library_id\u0000version`. */
  async servingModels(): Promise<Map<string, string>> {
    return this.usable ? servingModels(this.db) : new Map();
  }

  /** `twinmcp list`: hybrid when a version's vectors are of the configured model. */
  searchMode(
    models: Map<string, string>,
    libraryId: string,
    version: string | undefined,
  ): { search: 'lexical' | 'hybrid'; embeddingModel?: string } {
    const model = version === undefined ? undefined : models.get(`${libraryId}\u0000${version}`);
    return this.usable && model === this.model
      ? { search: 'hybrid', embeddingModel: model }
      : { search: 'lexical' };
  }

  /** Waits for usage events still being written (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private markOk(): void {
    this.lastOk = Date.now();
    this.downUntil = 0;
  }

  private markDown(): void {
    this.lastFailure = Date.now();
    this.downUntil = this.lastFailure + this.breakerMs;
  }
}
