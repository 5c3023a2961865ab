/**
 * Prometheus metrics, one registry per app (tests build several apps in one process): HTTP
 * requests per route, MCP tool calls, database statements, provider calls (all fed by
 * observe.ts), and jobs by state, read from the database when scraped. Process metrics (CPU,
 * memory, event loop, GC) are process-wide, so one shared registry is merged into every scrape.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../db/db.js';
import {
  dbChannel,
  inFlight,
  providerChannel,
  toolChannel,
  type DbEvent,
  type ProviderEvent,
  type ToolEvent,
} from './observe.js';
import { withTimeout } from './ready.js';

// Seconds. Lexical queries take ~5-50 ms, hybrid ones add a provider round trip (~100-400 ms),
// indexing requests and chat answers run to seconds; 10 s is the MCP tool timeout.
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// Statements: most take well under 10 ms; migrations and index swaps take seconds.
const DB_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

/** What a scrape reads besides the counters: the engine's database (jobs, pool). */
export interface MetricsSources {
  engine: { db: Db };
  /** Cap on the jobs query when scraped, so a stuck database cannot hang the scrape. */
  scrapeTimeoutMs?: number;
}

/** The app's metrics; `close()` stops listening to the observation channels. */
export interface AppMetrics {
  registry: Registry;
  /** Records one finished HTTP request. */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** The scrape body: this app's metrics plus the process metrics. */
  render(): Promise<string>;
  contentType: string;
  close(): void;
}

let processRegistry: Registry | undefined;

function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Creates the metrics of one app and subscribes them to the observation channels. */
export function createAppMetrics(sources: MetricsSources): AppMetrics {
  const registry = new Registry();
  const registers = [registry];
  const httpLabels = ['method', 'route', 'status_class'] as const;
  const httpRequests = new Counter({
    name: 'twinmcp_http_requests_total',
    help: 'HTTP requests by route pattern, method and status class (2xx, 4xx, ...)',
    labelNames: httpLabels,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'twinmcp_http_request_duration_seconds',
    help: 'HTTP request duration, first byte in to last byte out',
    labelNames: httpLabels,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const toolCalls = new Counter({
    name: 'twinmcp_mcp_tool_calls_total',
    help: 'MCP tool calls by tool and outcome (error = an isError result, timeouts included)',
    labelNames: ['tool', 'outcome'] as const,
    registers,
  });
  const toolDuration = new Histogram({
    name: 'twinmcp_mcp_tool_duration_seconds',
    help: 'MCP tool call duration',
    labelNames: ['tool'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const dbDuration = new Histogram({
    name: 'twinmcp_db_statement_duration_seconds',
    help: 'Database statements (query, exec, whole transaction) by operation and outcome',
    labelNames: ['op', 'outcome'] as const,
    buckets: DB_BUCKETS,
    registers,
  });
  const providerCalls = new Counter({
    name: 'twinmcp_provider_calls_total',
    help: 'Model provider calls (embeddings, chat) by provider and outcome, retries included',
    labelNames: ['kind', 'provider', 'outcome'] as const,
    registers,
  });
  const providerDuration = new Histogram({
    name: 'twinmcp_provider_call_duration_seconds',
    help: 'Model provider call duration (a chat call lasts until its stream ends)',
    labelNames: ['kind', 'provider'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });

  const db = () => sources.engine.db;
  new Gauge({
    name: 'twinmcp_db_statements_in_flight',
    help: 'Statements running now; near the pool size means requests queue for a connection',
    registers,
    collect(this: Gauge) {
      this.set(inFlight.get(db()) ?? 0);
    },
  });
  new Gauge({
    name: 'twinmcp_db_pool_size',
    help: 'Connections the database pool may open (1 for embedded PGlite)',
    registers,
    collect(this: Gauge) {
      this.set(db().poolSize ?? 1);
    },
  });
  const jobs = new Gauge({
    name: 'twinmcp_jobs',
    help: 'Indexing jobs by state, read from the database at scrape time',
    labelNames: ['state'] as const,
    registers,
  });
  const queueDepth = new Gauge({
    name: 'twinmcp_job_queue_depth',
    help: 'Jobs a worker could claim now (queued and due, or running with an expired lease)',
    registers,
  });
  const scrapeErrors = new Counter({
    name: 'twinmcp_metrics_scrape_errors_total',
    help: 'Scrapes whose database reads failed or timed out (the job gauges keep old values)',
    registers,
  });

  const onDb = (message: unknown) => {
    const e = message as DbEvent;
    if (e.db !== db()) return;
    dbDuration.observe({ op: e.op, outcome: e.ok ? 'ok' : 'error' }, e.seconds);
  };
  const onTool = (message: unknown) => {
    const e = message as ToolEvent;
    if (e.engine !== sources.engine) return;
    toolCalls.inc({ tool: e.tool, outcome: e.outcome });
    toolDuration.observe({ tool: e.tool }, e.seconds);
  };
  // Providers are not tied to one engine: in a process with several apps each counts them all.
  const onProvider = (message: unknown) => {
    const e = message as ProviderEvent;
    providerCalls.inc({ kind: e.kind, provider: e.provider, outcome: e.ok ? 'ok' : 'error' });
    providerDuration.observe({ kind: e.kind, provider: e.provider }, e.seconds);
  };
  subscribe(dbChannel.name, onDb);
  subscribe(toolChannel.name, onTool);
  subscribe(providerChannel.name, onProvider);

  const readJobs = async () => {
    // Every state gets a line, 0 included, so a dashboard's rate() sees the series from start.
    const rows = await withTimeout(
      db().query<{ state: string; n: number; due: number }>(
        `SELECT state, count(*)::int AS n,
                count(*) FILTER (WHERE (state = 'queued' AND run_after <= now())
                                    OR (state = 'running' AND lease_until < now()))::int AS due
           FROM jobs GROUP BY state`,
      ),
      sources.scrapeTimeoutMs ?? 2000,
    );
    jobs.reset();
    for (const state of ['queued', 'running', 'succeeded', 'failed', 'cancelled']) {
      jobs.set({ state }, 0);
    }
    let due = 0;
    for (const row of rows) {
      jobs.set({ state: row.state }, row.n);
      due += row.due;
    }
    queueDepth.set(due);
  };

  return {
    registry,
    contentType: registry.contentType,
    observeRequest(method, route, status, seconds) {
      const labels = { method, route, status_class: `${Math.floor(status / 100)}xx` };
      httpRequests.inc(labels);
      httpDuration.observe(labels, seconds);
    },
    async render() {
      try {
        await readJobs();
      } catch {
        scrapeErrors.inc();
      }
      return Registry.merge([registry, processMetrics()]).metrics();
    },
    close() {
      unsubscribe(dbChannel.name, onDb);
      unsubscribe(toolChannel.name, onTool);
      unsubscribe(providerChannel.name, onProvider);
    },
  };
}
