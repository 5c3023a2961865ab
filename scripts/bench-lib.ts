/**
 * Helpers for scripts/bench.ts: percentiles, a Db wrapper that times every SQL statement, an
 * event-loop gap monitor, directory sizes and Markdown tables.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Db, Queryable } from '../server/db/db.js';

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export const median = (samples: readonly number[]) => percentile(samples, 50);

export function summarize(samples: readonly number[]) {
  return {
    n: samples.length,
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    max: samples.length ? Math.max(...samples) : NaN,
    min: samples.length ? Math.min(...samples) : NaN,
  };
}

/** Time spent in SQL, by statement kind (`INSERT chunks`, `SELECT library_versions`...). */
export class SqlProfile {
  totalMs = 0;
  count = 0;
  readonly byKind = new Map<string, { ms: number; n: number }>();

  add(kind: string, ms: number): void {
    this.totalMs += ms;
    this.count += 1;
    const k = this.byKind.get(kind) ?? { ms: 0, n: 0 };
    k.ms += ms;
    k.n += 1;
    this.byKind.set(kind, k);
  }

  /** A copy of the counters, to diff against later. */
  snapshot(): { totalMs: number; count: number } {
    return { totalMs: this.totalMs, count: this.count };
  }
}

/** `INSERT chunks`, `SELECT pages`, `WITH/INSERT chunks`: the verb and the first table named. */
export function statementKind(sql: string): string {
  const text = sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const verb = (/^(\w+)/.exec(text)?.[1] ?? '?').toUpperCase();
  if (verb === 'WITH') {
    const inner = /\b(INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)/i.exec(text);
    if (inner) return `WITH/${inner[1]!.split(' ')[0]!.toUpperCase()} ${inner[2]}`;
  }
  const table =
    /^(?:INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)/i.exec(text)?.[1] ??
    /\bFROM\s+(\w+)/i.exec(text)?.[1] ??
    '';
  return table ? `${verb} ${table}` : verb;
}

function timedQueryable(target: Queryable, profile: SqlProfile): Queryable {
  return {
    async query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
      const t0 = performance.now();
      try {
        return await target.query<T>(sql, params);
      } finally {
        profile.add(statementKind(sql), performance.now() - t0);
      }
    },
    async exec(sql: string) {
      const t0 = performance.now();
      try {
        await target.exec(sql);
      } finally {
        profile.add(`exec ${statementKind(sql)}`, performance.now() - t0);
      }
    },
  };
}

/**
 * `db` with every statement timed into `profile`. A transaction's own cost (BEGIN, COMMIT, waiting
 * for the connection) is its wall time minus the time its callback ran, recorded as BEGIN/COMMIT;
 * JavaScript run inside the callback is not SQL time.
 */
export function profiledDb(db: Db, profile: SqlProfile): Db {
  const inner = timedQueryable(db, profile);
  return {
    get dialect() {
      return db.dialect;
    },
    get hasVector() {
      return db.hasVector;
    },
    set hasVector(value: boolean) {
      db.hasVector = value;
    },
    query: inner.query,
    exec: inner.exec,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const t0 = performance.now();
      let fnMs = 0;
      try {
        return await db.transaction(async (tx) => {
          const f0 = performance.now();
          try {
            return await fn(timedQueryable(tx, profile));
          } finally {
            fnMs = performance.now() - f0;
          }
        });
      } finally {
        profile.add('BEGIN/COMMIT', Math.max(0, performance.now() - t0 - fnMs));
      }
    },
    close: () => db.close(),
  };
}

/**
 * Gaps between the ticks of a `intervalMs` setInterval: how long the event loop was blocked
 * (a gap of intervalMs means no blocking). `stop()` returns the gaps in ms.
 */
export function startLoopMonitor(intervalMs = 10) {
  const gaps: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }, intervalMs);
  return {
    stop(): number[] {
      clearInterval(timer);
      gaps.push(performance.now() - last);
      return gaps;
    },
  };
}

/** Bytes under `dir` (files only, symlinks not followed). */
export function dirSize(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) total += dirSize(p);
    else if (entry.isFile()) total += statSync(p).size;
  }
  return total;
}

/** Peak resident set size of this process so far, in MB (maxRSS is in KiB). */
export const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

/** Resident set size now, in MB. */
export const rssNowMb = () => process.memoryUsage().rss / 2 ** 20;

export const ms = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
export const sec = (x: number, digits = 2) =>
  Number.isFinite(x) ? (x / 1000).toFixed(digits) : '–';
export const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
export const int = (x: number) =>
  Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–';

/** A Markdown table; columns after the first are right-aligned. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const align = head.map((_, i) => (i === 0 ? '---' : '---:'));
  return [head, align, ...cells].map((r) => `| ${r.join(' | ')} |`).join('\n');
}
