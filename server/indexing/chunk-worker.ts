// Worker thread body: chunks pages off the main thread (see chunk-pool.ts).
import { parentPort } from 'node:worker_threads';
import { chunkPage, type ChunkOptions } from './chunk.js';
import type { SourcePage } from './types.js';

parentPort?.on('message', (msg: { id: number; page: SourcePage; opts?: ChunkOptions }) => {
  parentPort?.postMessage({ id: msg.id, chunks: chunkPage(msg.page, msg.opts) });
});
