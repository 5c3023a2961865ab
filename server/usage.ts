/**
 * Usage events: every resolve and query is recorded (client, library, latency, tokens, results).
 * Writes are off the request's critical path; `flush()` waits for them (tests, shutdown).
 */
import type { Queryable } from './db/db.js';

export interface UsageEvent {
  owner: string | null;
  client: string;
  kind: 'resolve' | 'query';
  libraryId: string | null;
  query: string | null;
  latencyMs: number;
  tokens: number;
  resultCount: number;
  meta?: Record<string, unknown>;
}

export class UsageRecorder {
  private pending = new Set<Promise<void>>();

  constructor(
    private readonly db: Queryable,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  record(e: UsageEvent): void {
    const p = this.db
      .query(
        `INSERT INTO usage_events (owner_account, client, kind, library_id, query, latency_ms, tokens,
                                   result_count, zero_result, meta)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)`,
        [
          e.owner,
          e.client,
          e.kind,
          e.libraryId,
          e.query,
          e.latencyMs,
          e.tokens,
          e.resultCount,
          e.resultCount === 0,
          JSON.stringify(e.meta ?? {}),
        ],
      )
      .then(
        () => {},
        (err: unknown) => this.log(`usage event not recorded: ${(err as Error).message}`),
      )
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
