/** Anthropic Messages, streamed, through the official SDK. */
import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
import {
  ProviderError,
  providerHttpError,
  type ChatProvider,
  type CompletionChunk,
  type CompletionRequest,
} from './types.js';

export interface AnthropicProviderOptions {
  model: string;
  apiKey: string;
  baseUrl?: string;
  timeoutMs: number;
  maxRetries: number;
}

export class AnthropicProvider implements ChatProvider {
  readonly name = 'anthropic';
  readonly model: string;
  private readonly client: Anthropic;

  constructor(opts: AnthropicProviderOptions) {
    this.model = opts.model;
    // The key is always passed, so the SDK never looks for credential files or profiles.
    this.client = new Anthropic({
      apiKey: opts.apiKey,
      ...(opts.baseUrl ? { baseURL: opts.baseUrl } : {}),
      timeout: opts.timeoutMs,
      maxRetries: opts.maxRetries,
    });
  }

  async *stream(req: CompletionRequest, signal: AbortSignal): AsyncGenerator<CompletionChunk> {
    let inputTokens = 0;
    let outputTokens = 0;
    try {
      const stream = await this.client.messages.create(
        {
          model: this.model,
          system: req.system,
          messages: req.messages,
          max_tokens: req.maxOutputTokens,
          stream: true,
        },
        { signal },
      );
      for await (const event of stream) {
        if (event.type === 'message_start') {
          inputTokens = event.message.usage.input_tokens;
          outputTokens = event.message.usage.output_tokens;
        } else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
          if (event.delta.text) yield { type: 'text', text: event.delta.text };
        } else if (event.type === 'message_delta') {
          // Cumulative: the output tokens so far, not an increment.
          outputTokens = event.usage.output_tokens;
        }
      }
    } catch (err) {
      throw mapError(err);
    }
    yield { type: 'usage', inputTokens, outputTokens };
  }
}

function mapError(err: unknown): unknown {
  if (err instanceof APIUserAbortError) return new ProviderError('cancelled', 'Request aborted');
  if (err instanceof APIConnectionTimeoutError) {
    return new ProviderError('provider_timeout', 'Anthropic did not answer in time');
  }
  if (err instanceof APIConnectionError) {
    return new ProviderError('provider_unavailable', 'Could not reach Anthropic');
  }
  if (err instanceof APIError) {
    return providerHttpError('Anthropic', err.status, err.message.replace(/^\d{3}\s+/, ''));
  }
  return err;
}
