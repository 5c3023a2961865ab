/** The configured provider, or none (retrieval-only answers). */
import type { ChatConfig } from '../config.js';
import { AnthropicProvider } from './anthropic.js';
import { OpenAiProvider } from './openai.js';
import type { ChatProvider } from './types.js';
import { observeChat } from '../../ops/observe.js';

/** Builds the provider the configuration names; undefined for `none`. */
export function createProvider(config: ChatConfig): ChatProvider | undefined {
  if (config.provider === 'none') return undefined;
  const common = {
    model: config.model ?? '',
    ...(config.baseUrl ? { baseUrl: config.baseUrl } : {}),
    timeoutMs: config.timeoutMs,
    maxRetries: config.maxRetries,
  };
  // Observed for /metrics: call count, latency and errors per provider (server/ops/observe.ts).
  if (config.provider === 'anthropic') {
    return observeChat(new AnthropicProvider({ ...common, apiKey: config.apiKey ?? '' }));
  }
  return observeChat(
    new OpenAiProvider({
      ...common,
      name: config.provider,
      ...(config.apiKey ? { apiKey: config.apiKey } : {}),
    }),
  );
}
