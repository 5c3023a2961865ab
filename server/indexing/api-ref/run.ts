/**
 * API reference pages built on a worker thread: the TypeScript compiler needs 1-10 s of CPU for a
 * big package (zod ~5 s, openai ~10 s measured), which must not stall the process serving HTTP
 * and MCP. In-line where workers cannot start.
 */
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../../db/pglite-thread-entry.js';
import type { SourcePage } from '../types.js';
import type { TypesEntry } from './entries.js';
import { extractApi } from './extract.js';
import { renderSymbolPage } from './render.js';

export interface ApiReference {
  pages: SourcePage[];
  skipped: { path: string; reason: string }[];
}

/** Two minutes: ten times the slowest package measured; past it the reference is skipped. */
const TIME_LIMIT_MS = 120_000;

function inline(
  dir: string,
  packageName: string,
  entries: TypesEntry[],
  maxSymbols?: number,
): ApiReference {
  const api = extractApi(dir, packageName, entries, maxSymbols !== undefined ? { maxSymbols } : {});
  return { pages: api.symbols.map((s) => renderSymbolPage(packageName, s)), skipped: api.skipped };
}

/** One page per exported symbol of the package unpacked in `dir`. */
export async function apiReferencePages(
  dir: string,
  packageName: string,
  entries: TypesEntry[],
  maxSymbols?: number,
): Promise<ApiReference> {
  let worker: Worker;
  try {
    worker = new Worker(workerEntry('api-ref-worker', import.meta.url), {
      workerData: { dir, packageName, entries, maxSymbols },
      // The compiler holds every declaration file in memory; 2 GiB fits the largest SDKs.
      resourceLimits: { maxOldGenerationSizeMb: 2048 },
    });
  } catch {
    return inline(dir, packageName, entries, maxSymbols);
  }
  return new Promise<ApiReference>((resolve) => {
    let settled = false;
    const finish = (result: ApiReference) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(result);
    };
    const fail = (reason: string) =>
      finish({
        pages: [],
        skipped: [{ path: 'api/', reason: `API reference not built: ${reason}` }],
      });
    const timer = setTimeout(() => fail(`over the ${TIME_LIMIT_MS / 1000} s limit`), TIME_LIMIT_MS);
    worker.on('message', (msg: ApiReference) => finish(msg));
    worker.on('error', (err) => fail(err.message));
    worker.on('exit', (code) => fail(`worker exited with code ${code}`));
  });
}
