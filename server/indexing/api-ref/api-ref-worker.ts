// Worker thread body: builds one package's API reference pages off the main thread (see run.ts).
import { parentPort, workerData } from 'node:worker_threads';
import type { TypesEntry } from './entries.js';
import { extractApi } from './extract.js';
import { renderSymbolPage } from './render.js';

const job = workerData as {
  dir: string;
  packageName: string;
  entries: TypesEntry[];
  maxSymbols?: number;
};
const api = extractApi(job.dir, job.packageName, job.entries, {
  ...(job.maxSymbols !== undefined ? { maxSymbols: job.maxSymbols } : {}),
});
parentPort?.postMessage({
  pages: api.symbols.map((s) => renderSymbolPage(job.packageName, s)),
  skipped: api.skipped,
});
