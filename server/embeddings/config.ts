/**
 * Embeddings and hybrid retrieval configuration from environment variables. Off unless
 * TWINMCP_EMBEDDINGS_PROVIDER names a provider: embeddings cost money per token, so they are
 * opted into, never switched on because an OPENAI_API_KEY happens to be set for chat.
 */
import { z } from 'zod';
import { wholeNumber, decimalNumber as number, optionalText, envProblems } from '../env-schema.js';

export const EMBEDDING_PROVIDERS = ['none', 'openai', 'openai-compatible'] as const;
export type EmbeddingProviderName = (typeof EMBEDDING_PROVIDERS)[number];

/** How lexical and vector candidates are combined (server/search/hybrid.ts). */
export interface HybridConfig {
  /** `rrf`: reciprocal rank fusion; `convex`: weighted sum of scores normalised per list. */
  fusion: 'rrf' | 'convex';
  lexicalWeight: number;
  vectorWeight: number;
  /** RRF's k: 60 in Cormack et al. (2009) and in most systems since. */
  rrfK: number;
  /** Vector candidates taken from the version before fusion. */
  vectorCandidates: number;
  /** MMR trade-off: 1 = relevance only, 0 = diversity only. */
  mmrLambda: number;
  /**
   * Vector-only candidates below this cosine are dropped, so a question nothing answers still gets
   * no_snippets_found. OpenAI's text-embedding-3 models put unrelated texts at ~0.0-0.15.
   */
  minSimilarity: number;
}

export interface EmbeddingsConfig {
  provider: EmbeddingProviderName;
  model: string;
  /** Requested output dimension (`dimensions` parameter); absent = the model's own. */
  dimensions?: number;
  /** Absent = the SDK's default (OPENAI_BASE_URL or api.openai.com). */
  baseUrl?: string;
  apiKey?: string;
  /** Inputs per request. */
  batchSize: number;
  /** Requests in flight at once while indexing. */
  concurrency: number;
  /** Retries of one request on 429, 5xx and connection errors, with backoff. */
  maxRetries: number;
  /** First backoff; doubled per retry (with jitter) unless the server sent Retry-After. */
  retryBaseMs: number;
  /** Longest an indexing request may take. */
  timeoutMs: number;
  /** Longest a query waits for its question's embedding before answering lexically. */
  queryTimeoutMs: number;
  /** USD per million input tokens, for recorded cost; absent = unknown (0). */
  pricePerMillion?: number;
  hybrid: HybridConfig;
}

/** USD per 1M input tokens, from OpenAI's price list (2025): small 0.02, large 0.13, ada 0.10. */
const OPENAI_PRICES: Record<string, number> = {
  'text-embedding-3-small': 0.02,
  'text-embedding-3-large': 0.13,
  'text-embedding-ada-002': 0.1,
};

export const DEFAULT_EMBEDDING_MODEL = 'text-embedding-3-small';

export const DEFAULT_HYBRID: HybridConfig = {
  fusion: 'rrf',
  lexicalWeight: 1,
  vectorWeight: 1,
  rrfK: 60,
  vectorCandidates: 40,
  mmrLambda: 0.7,
  minSimilarity: 0.2,
};

const url = optionalText.refine((s) => s === undefined || /^https?:\/\/\S+$/.test(s), {
  message: 'must be an http:// or https:// URL',
});

const EmbeddingsEnv = z.object({
  TWINMCP_EMBEDDINGS_PROVIDER: z.enum(EMBEDDING_PROVIDERS).default('none'),
  TWINMCP_EMBEDDINGS_MODEL: optionalText,
  TWINMCP_EMBEDDINGS_DIMENSIONS: optionalText.pipe(
    z
      .string()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .refine((n) => n >= 1 && n <= 16_000, { message: 'must be between 1 and 16000' })
      .optional(),
  ),
  TWINMCP_EMBEDDINGS_BASE_URL: url,
  TWINMCP_EMBEDDINGS_API_KEY: optionalText,
  // 128 inputs of <= 800 tokens stay far below OpenAI's 2,048 inputs / 300k tokens per request.
  TWINMCP_EMBEDDINGS_BATCH_SIZE: wholeNumber('128', 1, 2048),
  // 4 requests in flight: ~4x one request's throughput, well inside tier-1 rate limits.
  TWINMCP_EMBEDDINGS_CONCURRENCY: wholeNumber('4', 1, 64),
  TWINMCP_EMBEDDINGS_MAX_RETRIES: wholeNumber('5', 0, 20),
  TWINMCP_EMBEDDINGS_TIMEOUT_MS: wholeNumber('60000', 100, 600_000),
  // One embedding of a short question takes ~0.1-0.5 s at OpenAI; 2 s bounds a stall.
  TWINMCP_EMBEDDINGS_QUERY_TIMEOUT_MS: wholeNumber('2000', 10, 60_000),
  TWINMCP_EMBEDDINGS_PRICE_PER_MILLION: optionalText.pipe(
    z
      .string()
      .regex(/^\d+(\.\d+)?$/, 'must be a number (USD per million tokens)')
      .transform(Number)
      .optional(),
  ),
  TWINMCP_HYBRID_FUSION: z.enum(['rrf', 'convex']).default(DEFAULT_HYBRID.fusion),
  TWINMCP_HYBRID_LEXICAL_WEIGHT: number('1', 0, 100),
  TWINMCP_HYBRID_VECTOR_WEIGHT: number('1', 0, 100),
  TWINMCP_HYBRID_RRF_K: wholeNumber('60', 1, 10_000),
  TWINMCP_HYBRID_VECTOR_CANDIDATES: wholeNumber('40', 1, 1000),
  TWINMCP_HYBRID_MMR_LAMBDA: number('0.7', 0, 1),
  TWINMCP_HYBRID_MIN_SIMILARITY: number('0.2', 0, 1),
  OPENAI_API_KEY: optionalText,
  OPENAI_BASE_URL: url,
});

/** The embeddings configuration, or the problems found, each naming its variable. */
export function parseEmbeddingsConfig(
  env: Record<string, string | undefined>,
): { config: EmbeddingsConfig } | { problems: string[] } {
  const parsed = EmbeddingsEnv.safeParse(env);
  if (!parsed.success) {
    return { problems: envProblems(parsed.error) };
  }
  const e = parsed.data;
  const provider = e.TWINMCP_EMBEDDINGS_PROVIDER;
  const problems: string[] = [];
  const apiKey = e.TWINMCP_EMBEDDINGS_API_KEY ?? e.OPENAI_API_KEY;
  const baseUrl = e.TWINMCP_EMBEDDINGS_BASE_URL ?? e.OPENAI_BASE_URL;
  if (provider === 'openai' && !apiKey) {
    problems.push(
      'OPENAI_API_KEY: required when TWINMCP_EMBEDDINGS_PROVIDER=openai (or set TWINMCP_EMBEDDINGS_API_KEY)',
    );
  }
  if (provider === 'openai-compatible') {
    if (!e.TWINMCP_EMBEDDINGS_BASE_URL) {
      problems.push(
        'TWINMCP_EMBEDDINGS_BASE_URL: required when TWINMCP_EMBEDDINGS_PROVIDER=openai-compatible ' +
          '(e.g. http://127.0.0.1:11434/v1 for Ollama)',
      );
    }
    if (!e.TWINMCP_EMBEDDINGS_MODEL) {
      problems.push(
        'TWINMCP_EMBEDDINGS_MODEL: required when TWINMCP_EMBEDDINGS_PROVIDER=openai-compatible',
      );
    }
  }
  if (e.TWINMCP_HYBRID_LEXICAL_WEIGHT + e.TWINMCP_HYBRID_VECTOR_WEIGHT === 0) {
    problems.push('TWINMCP_HYBRID_VECTOR_WEIGHT: the two hybrid weights must not both be 0');
  }
  if (problems.length > 0) return { problems };
  const model = e.TWINMCP_EMBEDDINGS_MODEL ?? DEFAULT_EMBEDDING_MODEL;
  const price =
    e.TWINMCP_EMBEDDINGS_PRICE_PER_MILLION ??
    (provider === 'openai' ? OPENAI_PRICES[model] : undefined);
  return {
    config: {
      provider,
      model,
      ...(e.TWINMCP_EMBEDDINGS_DIMENSIONS ? { dimensions: e.TWINMCP_EMBEDDINGS_DIMENSIONS } : {}),
      ...(provider !== 'none' && baseUrl
        ? { baseUrl: provider === 'openai-compatible' ? e.TWINMCP_EMBEDDINGS_BASE_URL : baseUrl }
        : {}),
      ...(provider !== 'none' && apiKey ? { apiKey } : {}),
      batchSize: e.TWINMCP_EMBEDDINGS_BATCH_SIZE,
      concurrency: e.TWINMCP_EMBEDDINGS_CONCURRENCY,
      maxRetries: e.TWINMCP_EMBEDDINGS_MAX_RETRIES,
      retryBaseMs: 500,
      timeoutMs: e.TWINMCP_EMBEDDINGS_TIMEOUT_MS,
      queryTimeoutMs: e.TWINMCP_EMBEDDINGS_QUERY_TIMEOUT_MS,
      ...(price !== undefined ? { pricePerMillion: price } : {}),
      hybrid: {
        fusion: e.TWINMCP_HYBRID_FUSION,
        lexicalWeight: e.TWINMCP_HYBRID_LEXICAL_WEIGHT,
        vectorWeight: e.TWINMCP_HYBRID_VECTOR_WEIGHT,
        rrfK: e.TWINMCP_HYBRID_RRF_K,
        vectorCandidates: e.TWINMCP_HYBRID_VECTOR_CANDIDATES,
        mmrLambda: e.TWINMCP_HYBRID_MMR_LAMBDA,
        minSimilarity: e.TWINMCP_HYBRID_MIN_SIMILARITY,
      },
    },
  };
}
