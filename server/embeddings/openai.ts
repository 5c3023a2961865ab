/**
 * Embeddings through the official `openai` SDK: OpenAI itself or any server speaking its
 * `/v1/embeddings` wire format (Ollama, LM Studio, vLLM, TEI). For OpenAI the SDK asks for base64
 * floats (a quarter of the JSON) and decodes them; compatible servers are asked for plain floats,
 * which all of them speak. The SDK's own retries are off so that ours (provider.ts) count attempts
 * and honour Retry-After.
 */
import OpenAI from 'openai';
import type { EmbeddingsConfig } from './config.js';
import {
  retryAfterMs,
  withRetries,
  type EmbedOptions,
  type EmbeddingBatch,
  type EmbeddingProvider,
  type Failure,
} from './provider.js';

function classify(err: unknown): Failure {
  if (err instanceof OpenAI.APIUserAbortError) return { retryable: false };
  // Connection refused or reset, DNS, and timeouts (APIConnectionTimeoutError is a subclass).
  if (err instanceof OpenAI.APIConnectionError) return { retryable: true };
  if (err instanceof OpenAI.APIError) {
    const status = err.status;
    const after = err.headers ? retryAfterMs((name) => err.headers?.get(name)) : undefined;
    const retryable = status === 408 || status === 409 || status === 429 || (status ?? 0) >= 500;
    return {
      retryable,
      ...(status !== undefined ? { status } : {}),
      ...(after !== undefined ? { retryAfterMs: after } : {}),
    };
  }
  return { retryable: false };
}

/** A provider for `openai` and `openai-compatible` configurations. */
export function createOpenAIProvider(config: EmbeddingsConfig): EmbeddingProvider {
  if (config.provider === 'none') throw new Error('no embedding provider is configured');
  const client = new OpenAI({
    // Local OpenAI-compatible servers take no key, but the SDK insists on one.
    apiKey: config.apiKey ?? 'none',
    ...(config.baseUrl ? { baseURL: config.baseUrl } : {}),
    maxRetries: 0,
    timeout: config.timeoutMs,
  });
  const name = config.provider;
  return {
    name,
    model: config.model,
    ...(config.dimensions ? { dimensions: config.dimensions } : {}),
    async embed(inputs: string[], opts: EmbedOptions = {}): Promise<EmbeddingBatch> {
      if (inputs.length === 0) return { vectors: [], tokens: 0, retries: 0 };
      const { value, retries } = await withRetries(
        () =>
          client.embeddings.create(
            {
              model: config.model,
              input: inputs,
              ...(config.dimensions ? { dimensions: config.dimensions } : {}),
              ...(name === 'openai-compatible' ? { encoding_format: 'float' as const } : {}),
            },
            {
              ...(opts.signal ? { signal: opts.signal } : {}),
              timeout: opts.timeoutMs ?? config.timeoutMs,
            },
          ),
        classify,
        {
          maxRetries: opts.maxRetries ?? config.maxRetries,
          baseMs: opts.retryBaseMs ?? config.retryBaseMs,
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
      );
      const vectors: Float32Array[] = new Array<Float32Array>(inputs.length);
      for (const item of value.data) {
        vectors[item.index] = Float32Array.from(item.embedding);
      }
      for (let i = 0; i < inputs.length; i++) {
        if (!vectors[i] || vectors[i]!.length === 0) {
          throw new Error(
            `${name} returned ${value.data.length} embeddings for ${inputs.length} inputs (none for input ${i})`,
          );
        }
      }
      return { vectors, tokens: value.usage?.total_tokens ?? 0, retries };
    },
  };
}
