/**
 * Chunking on worker threads. Parsing Markdown with remark runs at ~1 MB/s, so the react set
 * (4.5 MB) costs ~6.5 s of CPU; on worker threads it uses the cores the database leaves and keeps
 * the main thread (HTTP, MCP) responsive while a library indexes.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../db/pglite-thread-entry.js';
import { chunkPage, type ChunkOptions } from './chunk.js';
import type { Chunk, SourcePage } from './types.js';

const WARM_PAGE: SourcePage = {
  path: 'warm-up.md',
  format: 'markdown',
  text: [
    '---',
    'title: Warm-up',
    '---',
    '# Getting started {/*start*/}',
    '',
    'Install the *package* with `npm install x` and read [the guide](./guide.md).',
    '',
    '- one `item`',
    '- **two** items',
    '',
    '<Note>',
    '',
    '| option | default |',
    '| --- | --- |',
    '| `port` | 3000 |',
    '',
    '</Note>',
    '',
    '```ts',
    "import { createServer } from 'x';",
    'createServer({ port: 3000 }).listen();',
    '```',
  ].join('\n'),
};

interface Pending {
  resolve: (chunks: Chunk[]) => void;
  reject: (err: Error) => void;
}

export class ChunkPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly load = new Map<Worker, number>();
  private readonly owner = new Map<number, Worker>();
  private nextId = 0;

  private constructor(size: number) {
    // The build emits chunk-worker.js beside cli.js; source runs (tsx) boot the .ts file.
    const url = workerEntry('chunk-worker', import.meta.url);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url);
      worker.unref();
      worker.on('message', (msg: { id: number; chunks: Chunk[] }) => {
        const left = (this.load.get(worker) ?? 1) - 1;
        this.load.set(worker, left);
        // An idle pool must not keep the process alive; a busy one must.
        if (left === 0) worker.unref();
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        this.owner.delete(msg.id);
        p?.resolve(msg.chunks);
      });
      const fail = (err: Error) => {
        // A dead worker takes no more pages; its pages (and any later ones) are chunked in-line.
        this.load.delete(worker);
        for (const [id, p] of this.pending) {
          if (this.owner.get(id) === worker) {
            this.pending.delete(id);
            p.reject(err);
          }
        }
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`chunk worker exited with code ${code}`)));
      this.workers.push(worker);
      this.load.set(worker, 0);
    }
  }

  /**
   * A pool with one worker per core but one (at least 1, at most 4), or undefined where workers
   * cannot start. The core left over runs the embedded database's thread, which stores what the
   * workers chunk (~6 s of CPU for the react docs): on 2 cores a second worker only competes
   * with it, adding ~25% CPU (a second JIT warm-up and heap) for no faster indexing.
   */
  static create(
    size = Math.max(1, Math.min(4, availableParallelism() - 1)),
  ): ChunkPool | undefined {
    try {
      return size > 0 ? new ChunkPool(size) : undefined;
    } catch {
      return undefined;
    }
  }

  chunk(page: SourcePage, opts?: ChunkOptions): Promise<Chunk[]> {
    const worker = [...this.load].sort((a, b) => a[1] - b[1])[0]?.[0];
    if (!worker) return Promise.resolve(chunkPage(page, opts));
    this.load.set(worker, (this.load.get(worker) ?? 0) + 1);
    worker.ref();
    const id = this.nextId++;
    return new Promise<Chunk[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.owner.set(id, worker);
      worker.postMessage({ id, page, opts });
    })
      .catch(() => chunkPage(page, opts))
      .finally(() => this.owner.delete(id));
  }

  /**
   * Has every worker chunk a small page: their modules load and the parser's hot paths compile
   * before the first library, which then indexes at full speed (the engine calls this at start).
   * Never rejects.
   */
  async warm(): Promise<void> {
    await Promise.all(this.workers.map(() => this.chunk(WARM_PAGE).catch(() => [])));
  }

  async close(): Promise<void> {
    this.load.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
