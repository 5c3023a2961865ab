/**
 * PGlite on a worker thread. PGlite runs SQL in WASM on the thread that calls it: while the react
 * set indexed in the serve process, the event loop stalled for up to ~609 ms at a time (the
 * 16-page chunk INSERTs take ~60 ms each, the staging-version promotion much longer). Here every
 * statement runs on a worker thread and the main thread only posts messages and awaits replies.
 */
import { Worker } from 'node:worker_threads';
import type { Db, Queryable } from './db.js';
import type { PgliteOptions } from './pglite.js';
import { workerEntry } from './pglite-thread-entry.js';
import {
  bufferIndexes,
  deserializeError,
  type Reply,
  type Request,
  type Startup,
  type WorkerOptions,
} from './pglite-thread-protocol.js';

type Call = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface Pending {
  resolve: (rows: unknown[] | undefined) => void;
  reject: (err: Error) => void;
}

/** The main-thread side: a Db whose statements run in the worker. */
class PgliteThread implements Db {
  readonly dialect = 'pglite' as const;
  hasVector = false;
  private readonly pending = new Map<number, Pending>();
  private readonly transactions = new Set<Promise<unknown>>();
  private nextId = 0;
  private nextTx = 0;
  /** Set once the worker is gone or closing: every later call fails with it. */
  private dead: Error | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly worker: Worker) {
    worker.on('message', (msg: Reply) => this.settle(msg));
    worker.on('error', (err) => this.fail(`crashed: ${err.message}`));
    worker.on('exit', (code) => this.fail(`exited with code ${code}`));
  }

  private settle(msg: Reply): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    // An idle worker must not keep the process alive (in-process PGlite does not either).
    if (this.pending.size === 0) this.worker.unref();
    if (msg.ok) p.resolve(msg.rows);
    else p.reject(deserializeError(msg.error));
  }

  private fail(reason: string): void {
    if (this.dead && this.closing) return;
    const err = new Error(
      `PGlite worker thread ${reason}; its pending statements failed and the database is closed`,
    );
    Object.assign(err, { code: 'ERR_PGLITE_THREAD_DEAD' });
    this.dead ??= err;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(err);
    }
  }

  private call(req: Call): Promise<unknown[] | undefined> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      try {
        this.worker.postMessage({ ...req, id });
      } catch (err) {
        // DataCloneError: a parameter structured clone cannot copy (a function, a symbol...).
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
    });
  }

  private queryable(tx?: number): Queryable {
    return {
      query: async <T = Record<string, unknown>>(sql: string, params: readonly unknown[] = []) => {
        const list = [...params];
        const rows = await this.call({
          op: 'query',
          sql,
          params: list,
          buffers: bufferIndexes(list),
          ...(tx === undefined ? {} : { tx }),
        });
        return (rows ?? []) as T[];
      },
      exec: async (sql: string) => {
        await this.call({ op: 'exec', sql, ...(tx === undefined ? {} : { tx }) });
      },
    };
  }

  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.queryable().query<T>(sql, params);
  }

  exec(sql: string): Promise<void> {
    return this.queryable().exec(sql);
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const run = this.runTransaction(fn);
    const tracked = run.catch(() => {});
    this.transactions.add(tracked);
    void tracked.finally(() => this.transactions.delete(tracked));
    return run;
  }

  private async runTransaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const tx = this.nextTx++;
    await this.call({ op: 'begin', tx });
    // Like postgres.js and openPglite: once a statement failed, the transaction fails with that
    // error even if fn caught it.
    let failure: { error: unknown } | undefined;
    const remember = <R>(p: Promise<R>) =>
      p.catch((error: unknown) => {
        failure ??= { error };
        throw error;
      });
    const inner = this.queryable(tx);
    let result: T;
    try {
      result = await fn({
        query: (sql, params) => remember(inner.query(sql, params)),
        exec: (sql) => remember(inner.exec(sql)),
      });
    } catch (err) {
      // fn's own error is the one to report, not a failed ROLLBACK (or a dead worker).
      await this.call({ op: 'end', tx, commit: false }).catch(() => {});
      throw err;
    }
    if (failure) {
      await this.call({ op: 'end', tx, commit: false }).catch(() => {});
      throw failure.error;
    }
    await this.call({ op: 'end', tx, commit: true });
    // A statement fn did not await failed before COMMIT (replies arrive in order, so it is
    // known by now): PostgreSQL turned that COMMIT into a ROLLBACK.
    // (TypeScript narrowed `failure` to undefined above; the callback may have set it since.)
    const late = failure as { error: unknown } | undefined;
    if (late) throw late.error;
    return result;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // Transactions under way end first, as their statements would otherwise fail mid-way.
      while (this.transactions.size > 0) await Promise.all([...this.transactions]);
      try {
        if (!this.dead) await this.call({ op: 'close' });
      } finally {
        this.dead ??= new Error('database is closed');
        await this.worker.terminate();
      }
    })();
    return this.closing;
  }
}

/**
 * Open PGlite (same extensions, settings and row shapes as `openPglite`) on a worker thread.
 * Statements, scripts and transactions are forwarded over a MessagePort; the worker holds a
 * transaction open and runs its statements in order while other statements wait for its end.
 * Errors keep their SQLSTATE `code`; if the worker dies, pending and later calls reject.
 * Costs ~0.2 ms of messaging per statement (SELECT 1: 0.07 ms in-process, 0.24 ms here) and
 * ~0.3 s more to open and close. The caller must hold a lock on `dataDir`.
 */
export async function openPgliteThread(opts: PgliteOptions = {}): Promise<Db> {
  const workerData: WorkerOptions = {
    ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
    ...(opts.loadDataDir !== undefined ? { loadDataDir: opts.loadDataDir } : {}),
  };
  const worker = new Worker(workerEntry('pglite-worker', import.meta.url), { workerData });
  await new Promise<void>((resolve, reject) => {
    const onMessage = (msg: Startup) => {
      cleanup();
      if (msg.op === 'ready') resolve();
      else {
        const err = deserializeError(msg.error);
        const where = opts.dataDir ?? 'in memory';
        err.message = `PGlite could not open its database (${where}): ${err.message}`;
        reject(err);
        void worker.terminate();
      }
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new Error(`PGlite worker thread failed to start: ${err.message}`));
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`PGlite worker thread exited with code ${code} while starting`));
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
  worker.unref();
  return new PgliteThread(worker);
}
