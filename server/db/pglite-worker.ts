// Worker thread body: one PGlite instance, driven by pglite-thread.ts over the parent port.
// PGlite serializes statements itself (a query mutex, and a transaction mutex that plain
// statements also take), so a statement sent while a transaction is open waits for its end.
import type { PGlite, Transaction } from '@electric-sql/pglite';
import { parentPort, workerData } from 'node:worker_threads';
import { createPglite } from './pglite.js';
import {
  restoreBuffers,
  serializeError,
  type Reply,
  type Request,
  type Startup,
  type WorkerOptions,
} from './pglite-thread-protocol.js';

interface OpenTransaction {
  /** Statements of this transaction, run one after another in the order they were sent. */
  queue: Promise<unknown>;
  tx: Transaction;
  end: (commit: boolean) => void;
  done: Promise<void>;
}

/** Thrown into PGlite's transaction callback to make it roll back. */
class Rollback extends Error {}

const port = parentPort!;
const transactions = new Map<number, OpenTransaction>();
/** Requests not answered yet, so that close waits for them. */
const running = new Set<Promise<void>>();

function reply(message: Reply): void {
  port.postMessage(message);
}

function begin(pg: PGlite, id: number): Promise<void> {
  return new Promise<void>((opened, failed) => {
    let end!: (commit: boolean) => void;
    const ended = new Promise<boolean>((resolve) => (end = resolve));
    const done = pg
      .transaction(async (tx) => {
        transactions.set(id, { queue: Promise.resolve(), tx, end, done });
        opened();
        if (!(await ended)) throw new Rollback();
      })
      .catch((err: unknown) => {
        if (!(err instanceof Rollback)) throw err;
      })
      .finally(() => transactions.delete(id));
    // BEGIN itself failed: the callback never ran.
    done.catch(failed);
  });
}

async function inTransaction<T>(id: number, run: (tx: Transaction) => Promise<T>): Promise<T> {
  const open = transactions.get(id);
  if (!open) throw new Error(`transaction ${id} is not open`);
  const result = open.queue.then(() => run(open.tx));
  // A failed statement must not stop the ones after it from being answered.
  open.queue = result.catch(() => {});
  return result;
}

async function end(id: number, commit: boolean): Promise<void> {
  const open = transactions.get(id);
  if (!open) throw new Error(`transaction ${id} is not open`);
  await open.queue;
  open.end(commit);
  await open.done;
}

async function handle(pg: PGlite, req: Request): Promise<unknown[] | undefined> {
  switch (req.op) {
    case 'query': {
      const params = restoreBuffers(req.params, req.buffers);
      const run = async (target: PGlite | Transaction) =>
        (await target.query(req.sql, params)).rows;
      return req.tx === undefined ? run(pg) : inTransaction(req.tx, run);
    }
    case 'exec': {
      const run = async (target: PGlite | Transaction) => {
        await target.exec(req.sql);
        return undefined;
      };
      return req.tx === undefined ? run(pg) : inTransaction(req.tx, run);
    }
    case 'begin':
      await begin(pg, req.tx);
      return undefined;
    case 'end':
      await end(req.tx, req.commit);
      return undefined;
    case 'close':
      // Everything already sent finishes first (an open transaction included).
      while (running.size > 0) await Promise.allSettled([...running]);
      if (!pg.closed) await pg.close();
      return undefined;
  }
}

async function main(): Promise<void> {
  const opts = workerData as WorkerOptions;
  let pg: PGlite;
  try {
    pg = await createPglite(opts);
  } catch (err) {
    port.postMessage({ op: 'failed', error: serializeError(err) } satisfies Startup);
    return;
  }
  port.on('message', (req: Request) => {
    const task = handle(pg, req).then(
      (rows) =>
        reply(rows === undefined ? { id: req.id, ok: true } : { id: req.id, ok: true, rows }),
      (err: unknown) => reply({ id: req.id, ok: false, error: serializeError(err) }),
    );
    if (req.op !== 'close') {
      running.add(task);
      void task.finally(() => running.delete(task));
    }
  });
  port.postMessage({ op: 'ready' } satisfies Startup);
}

void main();
