/**
 * Chat usage events (`usage_events`, kind `chat`): tokens in and out, model and latency per
 * answered (or failed, or cancelled) question, for analytics and billing.
 */
import type { ChatUsage } from '../../shared/chat.js';
import type { Queryable } from '../db/db.js';

export interface ChatUsageEvent {
  owner: string | null;
  libraryId: string | null;
  question: string;
  usage: ChatUsage;
  sources: number;
  /** `complete`, `cancelled` or an error code. */
  outcome: string;
  conversationId: string | null;
}

export async function recordChatUsage(db: Queryable, e: ChatUsageEvent): Promise<void> {
  await db.query(
    `INSERT INTO usage_events (owner_account, client, kind, library_id, query, latency_ms, tokens,
                               result_count, zero_result, meta)
     VALUES ($1, 'chat', 'chat', $2, $3, $4, $5, $6, $7, $8::jsonb)`,
    [
      e.owner,
      e.libraryId,
      // The question as asked, cut like the engine's queries (500 characters) to bound the row.
      e.question.slice(0, 500),
      e.usage.latencyMs,
      e.usage.inputTokens + e.usage.outputTokens,
      e.sources,
      e.sources === 0,
      JSON.stringify({
        provider: e.usage.provider,
        model: e.usage.model,
        inputTokens: e.usage.inputTokens,
        outputTokens: e.usage.outputTokens,
        outcome: e.outcome,
        conversationId: e.conversationId,
      }),
    ],
  );
}
