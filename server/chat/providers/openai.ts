/**
 * OpenAI Chat Completions, streamed, through the official SDK. The same adapter serves any
 * OpenAI-compatible server (Ollama, LM Studio, vLLM) by base URL.
 */
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from 'openai';
import type { ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import {
  ProviderError,
  providerHttpError,
  type ChatProvider,
  type CompletionChunk,
  type CompletionRequest,
} from './types.js';

export interface OpenAiProviderOptions {
  name: 'openai' | 'openai-compatible';
  model: string;
  apiKey?: string;
  baseUrl?: string;
  timeoutMs: number;
  maxRetries: number;
}

export class OpenAiProvider implements ChatProvider {
  readonly name: string;
  readonly model: string;
  private readonly client: OpenAI;

  constructor(private readonly opts: OpenAiProviderOptions) {
    this.name = opts.name;
    this.model = opts.model;
    this.client = new OpenAI({
      // Ollama and LM Studio ignore the key, but the SDK refuses to start without one.
      apiKey: opts.apiKey ?? 'no-key',
      ...(opts.baseUrl ? { baseURL: opts.baseUrl } : {}),
      timeout: opts.timeoutMs,
      maxRetries: opts.maxRetries,
    });
  }

  async *stream(req: CompletionRequest, signal: AbortSignal): AsyncGenerator<CompletionChunk> {
    const params: ChatCompletionCreateParamsStreaming = {
      model: this.model,
      messages: [{ role: 'system', content: req.system }, ...req.messages],
      stream: true,
      stream_options: { include_usage: true },
      // OpenAI's reasoning models accept only max_completion_tokens; compatible servers
      // (Ollama, vLLM, LM Studio) know max_tokens.
      ...(this.opts.name === 'openai'
        ? { max_completion_tokens: req.maxOutputTokens }
        : { max_tokens: req.maxOutputTokens }),
    };
    try {
      const stream = await this.client.chat.completions.create(params, { signal });
      for await (const chunk of stream) {
        const text = chunk.choices[0]?.delta?.content;
        if (text) yield { type: 'text', text };
        if (chunk.usage) {
          yield {
            type: 'usage',
            inputTokens: chunk.usage.prompt_tokens,
            outputTokens: chunk.usage.completion_tokens,
          };
        }
      }
    } catch (err) {
      throw this.mapError(err);
    }
  }

  private mapError(err: unknown): unknown {
    const who = this.opts.name === 'openai' ? 'OpenAI' : 'The OpenAI-compatible server';
    if (err instanceof APIUserAbortError) return new ProviderError('cancelled', 'Request aborted');
    if (err instanceof APIConnectionTimeoutError) {
      return new ProviderError('provider_timeout', `${who} did not answer in time`);
    }
    if (err instanceof APIConnectionError) {
      return new ProviderError(
        'provider_unavailable',
        `Could not reach ${who} at ${this.client.baseURL}`,
      );
    }
    if (err instanceof APIError) {
      return providerHttpError(who, err.status, err.message.replace(/^\d{3}\s+/, ''));
    }
    return err;
  }
}
