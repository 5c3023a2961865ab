/**
 * What the chat core needs from a model provider: one streamed completion, cancellable by signal.
 * Each adapter maps its SDK's errors to ProviderError so the core never sees SDK classes.
 */
import type { ChatErrorCode } from '../../../shared/chat.js';
import { ChatFailure } from '../failure.js';

export interface PromptMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface CompletionRequest {
  system: string;
  /** Alternating turns, oldest first, ending with the user's question. */
  messages: PromptMessage[];
  maxOutputTokens: number;
}

export type CompletionChunk =
  { type: 'text'; text: string } | { type: 'usage'; inputTokens: number; outputTokens: number };

export interface ChatProvider {
  /** `openai`, `anthropic` or `openai-compatible`, for usage events. */
  readonly name: string;
  readonly model: string;
  /**
   * Streams one completion. Aborting `signal` must close the HTTP stream; the iterator then
   * throws (any error: the caller knows why it aborted).
   */
  stream(req: CompletionRequest, signal: AbortSignal): AsyncIterable<CompletionChunk>;
}

/** A provider failure with the code the client sees. */
export class ProviderError extends ChatFailure {
  constructor(
    code: Extract<
      ChatErrorCode,
      | 'provider_error'
      | 'provider_auth'
      | 'provider_rate_limited'
      | 'provider_unavailable'
      | 'provider_timeout'
      | 'provider_stalled'
      | 'cancelled'
    >,
    message: string,
  ) {
    super(code, message);
    this.name = 'ProviderError';
  }
}

/** Maps an HTTP status from a provider to an error code and a message naming the provider. */
export function providerHttpError(
  provider: string,
  status: number | undefined,
  detail: string,
): ProviderError {
  const what = `${provider} ${status === undefined ? 'stream error' : `returned ${status}`}: ${detail}`;
  if (status === 401 || status === 403) {
    return new ProviderError('provider_auth', `${what} (check the API key)`);
  }
  if (status === 429) return new ProviderError('provider_rate_limited', what);
  if (status === 408 || status === 504) return new ProviderError('provider_timeout', what);
  return new ProviderError('provider_error', what);
}
