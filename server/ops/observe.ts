/**
 * Observation points for /metrics: the database, MCP tools and model providers publish timings on
 * `node:diagnostics_channel`, and each app's metrics registry (metrics.ts) subscribes while it
 * lives. Domain code stays free of prom-client, and with no subscriber a publish costs one
 * `hasSubscribers` check.
 */
import { channel } from 'node:diagnostics_channel';
import type { ChatProvider } from '../chat/providers/types.js';
import type { Db, Queryable } from '../db/db.js';
import type { EmbeddingProvider } from '../embeddings/provider.js';

/** A database statement (query, exec, or a whole transaction) finished. */
export interface DbEvent {
  /** The observed Db the statement ran on, so an app counts only its own engine's statements. */
  db: Db;
  op: 'query' | 'exec' | 'transaction';
  seconds: number;
  ok: boolean;
}

/** An MCP tool call finished. */
export interface ToolEvent {
  /** The engine the tool called (an app counts only its own). */
  engine: object;
  tool: string;
  seconds: number;
  /** `error` when the tool answered with an error result (isError). */
  outcome: 'ok' | 'error';
}

/** One call to a model provider (embeddings or chat), retries included. */
export interface ProviderEvent {
  kind: 'embeddings' | 'chat';
  provider: string;
  seconds: number;
  ok: boolean;
}

export const dbChannel = channel('twinmcp:db');
export const toolChannel = channel('twinmcp:mcp-tool');
export const providerChannel = channel('twinmcp:provider');

/** Statements running right now on observed databases, per Db (the in-flight gauge reads it). */
export const inFlight = new WeakMap<Db, number>();

const seconds = (started: number) => (performance.now() - started) / 1000;

async function timed<T>(db: Db, op: DbEvent['op'], run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  inFlight.set(db, (inFlight.get(db) ?? 0) + 1);
  let ok = false;
  try {
    const result = await run();
    ok = true;
    return result;
  } finally {
    inFlight.set(db, (inFlight.get(db) ?? 1) - 1);
    if (dbChannel.hasSubscribers) {
      dbChannel.publish({ db, op, seconds: seconds(started), ok } satisfies DbEvent);
    }
  }
}

/**
 * `db` with every statement timed and published on `dbChannel`. Statements inside a transaction
 * are counted once, as the transaction.
 */
export function observeDb(db: Db): Db {
  const observed: Db = {
    get dialect() {
      return db.dialect;
    },
    get hasVector() {
      return db.hasVector;
    },
    set hasVector(value: boolean) {
      db.hasVector = value;
    },
    ...(db.poolSize !== undefined ? { poolSize: db.poolSize } : {}),
    query: <T>(sql: string, params?: readonly unknown[]) =>
      timed(observed, 'query', () => db.query<T>(sql, params)),
    exec: (sql: string) => timed(observed, 'exec', () => db.exec(sql)),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
      timed(observed, 'transaction', () => db.transaction(fn)),
    close: () => db.close(),
  };
  return observed;
}

/** Publishes one MCP tool call. */
export function publishToolCall(event: ToolEvent): void {
  if (toolChannel.hasSubscribers) toolChannel.publish(event);
}

/** Runs one provider call and publishes its duration and outcome. */
export async function observeProviderCall<T>(
  kind: ProviderEvent['kind'],
  provider: string,
  run: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  let ok = false;
  try {
    const result = await run();
    ok = true;
    return result;
  } finally {
    if (providerChannel.hasSubscribers) {
      providerChannel.publish({
        kind,
        provider,
        seconds: seconds(started),
        ok,
      } satisfies ProviderEvent);
    }
  }
}

/** Wraps a streamed completion: one event when the stream ends, fails or is abandoned. */
export async function* observeProviderStream<T>(
  provider: string,
  stream: AsyncIterable<T>,
): AsyncGenerator<T> {
  const started = performance.now();
  let ok = false;
  try {
    yield* stream;
    ok = true;
  } finally {
    if (providerChannel.hasSubscribers) {
      providerChannel.publish({
        kind: 'chat',
        provider,
        seconds: seconds(started),
        ok,
      } satisfies ProviderEvent);
    }
  }
}

/** `provider` with each embed call (retries included) published on `providerChannel`. */
export function observeEmbeddings(provider: EmbeddingProvider): EmbeddingProvider {
  return {
    name: provider.name,
    model: provider.model,
    ...(provider.dimensions !== undefined ? { dimensions: provider.dimensions } : {}),
    embed: (inputs, opts) =>
      observeProviderCall('embeddings', provider.name, () => provider.embed(inputs, opts)),
  };
}

/** `provider` with each streamed completion published on `providerChannel`. */
export function observeChat(provider: ChatProvider): ChatProvider {
  return {
    name: provider.name,
    model: provider.model,
    stream: (req, signal) => observeProviderStream(provider.name, provider.stream(req, signal)),
  };
}
