/**
 * Messages between the main thread (pglite-thread.ts) and the PGlite worker (pglite-worker.ts).
 * Values cross by structured clone, which keeps Date, Uint8Array, bigint, null, arrays and plain
 * objects as they are; the two things it changes are fixed up here: a Buffer arrives as a plain
 * Uint8Array, and an Error keeps only its message (no SQLSTATE `code`).
 */

/** What the worker is started with (workerData). */
export interface WorkerOptions {
  dataDir?: string;
  loadDataDir?: Blob;
}

export type Request =
  | { id: number; op: 'query'; sql: string; params: unknown[]; buffers: number[]; tx?: number }
  | { id: number; op: 'exec'; sql: string; tx?: number }
  /** Opens transaction `tx`; answered once BEGIN ran (after any other transaction ended). */
  | { id: number; op: 'begin'; tx: number }
  /** Runs after the statements already sent for `tx`, then COMMIT or ROLLBACK. */
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'close' };

export type Reply =
  { id: number; ok: true; rows?: unknown[] } | { id: number; ok: false; error: SerializedError };

/** Sent once by the worker when PGlite is open (or failed to open). */
export type Startup = { op: 'ready' } | { op: 'failed'; error: SerializedError };

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** Own primitive-valued fields: code (SQLSTATE), detail, hint, position, table, constraint... */
  fields: Record<string, string | number | boolean | null>;
}

// Large or unhelpful once copied: `params` can hold a 1 MB JSON batch of chunks.
const SKIPPED_FIELDS = new Set(['params', 'queryOptions', 'length', 'stack', 'message', 'name']);

export function serializeError(err: unknown): SerializedError {
  if (typeof err !== 'object' || err === null) {
    return { name: 'Error', message: String(err), fields: {} };
  }
  const fields: SerializedError['fields'] = {};
  for (const [key, value] of Object.entries(err)) {
    if (SKIPPED_FIELDS.has(key)) continue;
    const type = typeof value;
    if (value === null || type === 'string' || type === 'number' || type === 'boolean') {
      fields[key] = value as string | number | boolean | null;
    }
  }
  if (err instanceof Error) {
    return {
      name: err.name,
      message: err.message,
      ...(err.stack ? { stack: err.stack } : {}),
      fields,
    };
  }
  // Not an Error: Emscripten's file system throws { name: 'ErrnoError', errno: 54 }.
  const raw = (err as { name?: unknown }).name;
  const name = typeof raw === 'string' ? raw : 'Error';
  return { name, message: `${name} ${JSON.stringify(fields)}`, fields };
}

/** An Error with the worker's message, name and fields (`code` first of all). */
export function deserializeError(e: SerializedError): Error {
  const err = new Error(e.message);
  // Where the caller is is more useful than where the worker was; the worker's frames follow.
  const workerFrames = e.stack?.split('\n').slice(1).join('\n');
  if (e.name !== 'Error') err.name = e.name;
  Object.assign(err, e.fields);
  if (workerFrames && err.stack)
    err.stack = `${err.stack}\n  in the PGlite worker:\n${workerFrames}`;
  return err;
}

/** Indexes of the Buffer parameters, which the worker turns back into Buffers. */
export function bufferIndexes(params: readonly unknown[]): number[] {
  const out: number[] = [];
  params.forEach((p, i) => {
    if (Buffer.isBuffer(p)) out.push(i);
  });
  return out;
}

/** Undoes what structured clone did to Buffer parameters (text serializes them as UTF-8). */
export function restoreBuffers(params: unknown[], indexes: readonly number[]): unknown[] {
  for (const i of indexes) {
    const u8 = params[i] as Uint8Array;
    params[i] = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
  }
  return params;
}
