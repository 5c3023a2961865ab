import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** Bytes inspected for a NUL byte, like git's own binary heuristic. */
export const BINARY_SNIFF_BYTES = 8 * 1024;

const LFS_POINTER_PREFIX = 'version https://git-lfs.github.com/spec/';

/** The decoded text of a documentation file, or why it cannot be used. */
export type ReadResult = { ok: true; text: string } | { ok: false; reason: string };

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1).replace(/\.0$/, '')} KiB`;
  return `${bytes} bytes`;
}

function errorCode(err: unknown): string {
  return err instanceof Error && 'code' in err && typeof err.code === 'string'
    ? err.code
    : String(err);
}

/**
 * Reads one file as UTF-8 text with the checks every source applies: regular file, size cap,
 * no NUL byte in the first 8 KiB, strict UTF-8 (BOM stripped), not a Git LFS pointer, not empty.
 * `absPath` must already be resolved (no symlink): it is opened with O_NOFOLLOW so a file swapped
 * for a link after the caller's realpath check is refused rather than followed.
 */
export async function readDocFile(absPath: string, maxBytes: number): Promise<ReadResult> {
  let handle;
  try {
    // O_NONBLOCK: a FIFO swapped in after the caller's type check must not hang the walk.
    handle = await open(absPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    return { ok: false, reason: `cannot open file (${errorCode(err)})` };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { ok: false, reason: 'not a regular file' };
    if (info.size > maxBytes) {
      return {
        ok: false,
        reason: `file too large: ${formatBytes(info.size)}, over the ${formatBytes(maxBytes)} limit (maxFileBytes)`,
      };
    }
    // One spare byte detects a file that grew after fstat (its size no longer matches).
    const buffer = Buffer.alloc(info.size + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > info.size) return { ok: false, reason: 'file changed while being read' };
    const bytes = buffer.subarray(0, length);
    if (bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0)) {
      return { ok: false, reason: 'binary content (NUL byte in the first 8 KiB)' };
    }
    let text: string;
    try {
      // fatal: reject instead of silently indexing U+FFFD; ignoreBOM false strips a leading BOM.
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    } catch {
      return { ok: false, reason: 'not valid UTF-8 text' };
    }
    if (text.startsWith(LFS_POINTER_PREFIX)) {
      return { ok: false, reason: 'Git LFS pointer: the file content was not downloaded' };
    }
    if (text.trim() === '') return { ok: false, reason: 'empty file' };
    return { ok: true, text };
  } catch (err) {
    return { ok: false, reason: `cannot read file (${errorCode(err)})` };
  } finally {
    await handle.close();
  }
}
