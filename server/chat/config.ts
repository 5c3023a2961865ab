/**
 * Chat configuration from environment variables: which model provider answers, and the limits
 * that keep one question bounded. Parsed with the rest of the configuration in server/config.ts.
 */
import { z } from 'zod';
import { wholeNumber, optionalText, envProblems } from '../env-schema.js';

export const CHAT_PROVIDERS = ['none', 'openai', 'anthropic', 'openai-compatible'] as const;
export type ChatProviderName = (typeof CHAT_PROVIDERS)[number];

export interface ChatConfig {
  /** `none`: answers are the retrieved snippets, labelled as retrieval-only. */
  provider: ChatProviderName;
  model?: string;
  /** API base URL (required for `openai-compatible`, e.g. http://127.0.0.1:11434/v1 for Ollama). */
  baseUrl?: string;
  apiKey?: string;
  /** Longest a whole answer may take. */
  timeoutMs: number;
  /** Longest the provider may send nothing (before the first token, or between two). */
  idleTimeoutMs: number;
  maxOutputTokens: number;
  /** Token budget for the documentation sources in the prompt. */
  contextTokens: number;
  /** SDK retries of a failed request before the stream starts (429, 5xx, connection errors). */
  maxRetries: number;
}

// Keyed by variable name so that an issue's path names the variable directly.
const ChatEnv = z.object({
  TWINMCP_CHAT_PROVIDER: z.enum(CHAT_PROVIDERS).default('none'),
  TWINMCP_CHAT_MODEL: optionalText,
  TWINMCP_CHAT_BASE_URL: optionalText.refine((s) => s === undefined || /^https?:\/\/\S+$/.test(s), {
    message: 'must be an http:// or https:// URL',
  }),
  // A reasoning model can think for a minute before writing a ~1k-token answer: 3 minutes in all.
  TWINMCP_CHAT_TIMEOUT_MS: wholeNumber('180000', 10, 3_600_000),
  // Ollama loading a 7-8B model from disk takes ~10-30 s before the first token, so 60 s.
  TWINMCP_CHAT_IDLE_TIMEOUT_MS: wholeNumber('60000', 10, 3_600_000),
  TWINMCP_CHAT_MAX_OUTPUT_TOKENS: wholeNumber('1500', 16, 200_000),
  // query-docs' default is 5k tokens for one library; 8k leaves room for two or three.
  TWINMCP_CHAT_CONTEXT_TOKENS: wholeNumber('8000', 1000, 500_000),
  // One retry covers a 429/503 blip; more would keep the user waiting ~8 s for a first token.
  TWINMCP_CHAT_MAX_RETRIES: wholeNumber('1', 0, 5),
  OPENAI_API_KEY: optionalText,
  ANTHROPIC_API_KEY: optionalText,
});

/** The chat configuration, or the problems found, each naming its variable. */
export function parseChatConfig(
  env: Record<string, string | undefined>,
): { config: ChatConfig } | { problems: string[] } {
  const parsed = ChatEnv.safeParse(env);
  if (!parsed.success) {
    return { problems: envProblems(parsed.error) };
  }
  const e = parsed.data;
  const problems: string[] = [];
  const provider = e.TWINMCP_CHAT_PROVIDER;
  if (provider !== 'none' && !e.TWINMCP_CHAT_MODEL) {
    problems.push(`TWINMCP_CHAT_MODEL: required when TWINMCP_CHAT_PROVIDER=${provider}`);
  }
  if (provider === 'openai' && !e.OPENAI_API_KEY) {
    problems.push('OPENAI_API_KEY: required when TWINMCP_CHAT_PROVIDER=openai');
  }
  if (provider === 'anthropic' && !e.ANTHROPIC_API_KEY) {
    problems.push('ANTHROPIC_API_KEY: required when TWINMCP_CHAT_PROVIDER=anthropic');
  }
  if (provider === 'openai-compatible' && !e.TWINMCP_CHAT_BASE_URL) {
    problems.push(
      'TWINMCP_CHAT_BASE_URL: required when TWINMCP_CHAT_PROVIDER=openai-compatible ' +
        '(e.g. http://127.0.0.1:11434/v1 for Ollama)',
    );
  }
  if (problems.length > 0) return { problems };
  // Local OpenAI-compatible servers (Ollama, LM Studio) take no key; vLLM may use OPENAI_API_KEY.
  const apiKey = provider === 'anthropic' ? e.ANTHROPIC_API_KEY : e.OPENAI_API_KEY;
  return {
    config: {
      provider,
      ...(provider !== 'none' && e.TWINMCP_CHAT_MODEL ? { model: e.TWINMCP_CHAT_MODEL } : {}),
      ...(provider !== 'none' && e.TWINMCP_CHAT_BASE_URL
        ? { baseUrl: e.TWINMCP_CHAT_BASE_URL }
        : {}),
      ...(provider !== 'none' && apiKey ? { apiKey } : {}),
      timeoutMs: e.TWINMCP_CHAT_TIMEOUT_MS,
      idleTimeoutMs: e.TWINMCP_CHAT_IDLE_TIMEOUT_MS,
      maxOutputTokens: e.TWINMCP_CHAT_MAX_OUTPUT_TOKENS,
      contextTokens: e.TWINMCP_CHAT_CONTEXT_TOKENS,
      maxRetries: e.TWINMCP_CHAT_MAX_RETRIES,
    },
  };
}
