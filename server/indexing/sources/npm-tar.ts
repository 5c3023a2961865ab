/**
 * A package tarball unpacked with the safety a hostile upload needs: entries are read one header
 * at a time from the (gunzipped) stream, names that climb out of the package (`..`, absolute
 * paths) refuse the whole package, links are never created (one that points outside refuses the
 * package too), and the unpacked total and each kept file are capped before anything is written.
 * Only the files the caller asks for are written; the rest is read past.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';

/** Caps applied while unpacking. */
export interface TarLimits {
  /** Sum of all entries' sizes. */
  maxTotalBytes: number;
  /** One kept file; larger ones are skipped with a reason. */
  maxFileBytes: number;
  /** Entries of any kind. */
  maxEntries: number;
}

/** Unpacked 256 MiB covers the largest common packages (typescript ~23 MB, next ~130 MB). */
export const DEFAULT_TAR_LIMITS: TarLimits = {
  maxTotalBytes: 256 * 1024 * 1024,
  maxFileBytes: 8 * 1024 * 1024,
  maxEntries: 50_000,
};

/** A tarball that must not be indexed at all (path escape, over the caps, corrupt). */
export class TarballRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarballRefused';
  }
}

export interface UnpackResult {
  /** Package-relative paths written under the destination. */
  files: string[];
  skipped: { path: string; reason: string }[];
  totalBytes: number;
}

const BLOCK = 512;

/** Reads exact byte counts from an async stream of buffers. */
class ByteReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private done = false;
  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.length < n && !this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else {
        this.chunks.push(next.value);
        this.length += next.value.length;
      }
    }
    return this.length >= n;
  }

  /** Exactly `n` bytes, or undefined at the end of the stream. */
  async read(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) return undefined;
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.length = all.length - n;
    return all.subarray(0, n);
  }

  /** Reads to the end (so the fetcher can verify the tarball's integrity); false past `max` bytes. */
  async drain(max: number): Promise<boolean> {
    let seen = this.length;
    this.chunks = [];
    this.length = 0;
    while (!this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else if ((seen += next.value.length) > max) return false;
    }
    return true;
  }

  /** Reads past `n` bytes without holding them (large files nobody asked for). */
  async skip(n: number): Promise<boolean> {
    let left = n;
    while (left > 0) {
      const step = Math.min(left, 1024 * 1024);
      if (!(await this.read(step))) return false;
      left -= step;
    }
    return true;
  }
}

function cString(buf: Buffer, start: number, end: number): string {
  const slice = buf.subarray(start, end);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul === -1 ? slice.length : nul).toString('utf8');
}

function numeric(buf: Buffer, start: number, end: number): number {
  // GNU base-256 for sizes past 8 GiB: the top bit of the first byte is set.
  if ((buf[start]! & 0x80) !== 0) {
    let n = buf[start]! & 0x7f;
    for (let i = start + 1; i < end; i++) n = n * 256 + buf[i]!;
    return n;
  }
  const text = cString(buf, start, end).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function checksumOk(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum === numeric(header, 148, 156);
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const len = parseInt(data.subarray(pos, space).toString('utf8'), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

/**
 * `package/lib/x.d.ts` -> `lib/x.d.ts` (npm tarballs have one top folder, whatever its name).
 * Throws TarballRefused for names that would leave the package.
 */
export function packagePath(name: string): string {
  if (/^[/\\]/.test(name) || /^[A-Za-z]:/.test(name)) {
    throw new TarballRefused(`tarball entry "${name}" is an absolute path; package refused`);
  }
  const segments = name.split(/[/\\]+/).filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw new TarballRefused(`tarball entry "${name}" climbs out of the package; package refused`);
  }
  return segments.slice(1).join('/');
}

/** Where a link entry points, package-relative; throws when that is outside the package. */
function linkTarget(entryPath: string, linkName: string, hard: boolean): string {
  if (/^[/\\]/.test(linkName) || /^[A-Za-z]:/.test(linkName)) {
    throw new TarballRefused(
      `link "${entryPath}" points to the absolute path ${linkName}; package refused`,
    );
  }
  // Hard link names are archive paths; symbolic ones are relative to the link's folder.
  const base = hard ? [] : entryPath.split('/').slice(0, -1);
  const parts = hard ? linkName.split(/[/\\]+/).slice(1) : linkName.split(/[/\\]+/);
  const out = [...base];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) {
        throw new TarballRefused(
          `link "${entryPath}" points outside the package (${linkName}); package refused`,
        );
      }
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}

function asIterator(stream: Readable): AsyncIterator<Buffer> {
  return stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
}

/** A gzip or plain tar byte stream, gunzipped when it starts with the gzip magic number. */
async function tarBytes(input: Readable): Promise<AsyncIterator<Buffer>> {
  const it = asIterator(input);
  const first = await it.next();
  if (first.done) throw new TarballRefused('tarball is empty');
  const head = first.value;
  const replay = Readable.from(
    (async function* () {
      yield head;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    })(),
  );
  if (head[0] === 0x1f && head[1] === 0x8b) return asIterator(replay.pipe(createGunzip()));
  return asIterator(replay);
}

/**
 * Unpacks the files `want` accepts (package-relative paths) from a tarball stream into `dest`
 * (an empty folder the caller owns). Throws TarballRefused for escapes, caps and corrupt input.
 */
export async function unpackTarball(
  input: Readable,
  dest: string,
  want: (path: string) => boolean,
  limits: TarLimits = DEFAULT_TAR_LIMITS,
): Promise<UnpackResult> {
  const reader = new ByteReader(await tarBytes(input));
  const result: UnpackResult = { files: [], skipped: [], totalBytes: 0 };
  let entries = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};
  for (;;) {
    const header = await reader.read(BLOCK);
    if (!header || header.every((b) => b === 0)) break;
    if (!checksumOk(header)) throw new TarballRefused('tarball header checksum mismatch (corrupt)');
    const type = String.fromCharCode(header[156]!) || '0';
    let size = numeric(header, 124, 136);
    if (pax.size !== undefined) size = Number(pax.size);
    if (!Number.isSafeInteger(size) || size < 0)
      throw new TarballRefused('tarball entry size unreadable');
    const padded = Math.ceil(size / BLOCK) * BLOCK;

    if (type === 'x' || type === 'L' || type === 'K' || type === 'g') {
      // Metadata for the next entry; bounded so a header cannot make us buffer gigabytes.
      if (size > 1024 * 1024) throw new TarballRefused('tarball metadata entry over 1 MiB');
      const data = await reader.read(padded);
      if (!data) throw new TarballRefused('tarball ends inside an entry');
      const body = data.subarray(0, size);
      if (type === 'x') pax = { ...pax, ...parsePax(body) };
      else if (type === 'L') longName = cString(body, 0, body.length);
      else if (type === 'K') longLink = cString(body, 0, body.length);
      continue;
    }

    const ustar = header.subarray(257, 263).toString('latin1') === 'ustar\0';
    const prefix = ustar ? cString(header, 345, 500) : '';
    const rawName =
      pax.path ??
      longName ??
      (prefix ? `${prefix}/${cString(header, 0, 100)}` : cString(header, 0, 100));
    const rawLink = pax.linkpath ?? longLink ?? cString(header, 157, 257);
    pax = {};
    longName = undefined;
    longLink = undefined;

    if (++entries > limits.maxEntries) {
      throw new TarballRefused(
        `tarball has more than ${limits.maxEntries} entries; package refused`,
      );
    }
    const path = packagePath(rawName);
    const isFile = type === '0' || type === '\0' || type === '7';
    // Every entry's data counts, so a bomb of skipped entries is stopped as early as kept files.
    result.totalBytes += size;
    if (result.totalBytes > limits.maxTotalBytes) {
      throw new TarballRefused(
        `package unpacks to more than ${limits.maxTotalBytes} bytes (the unpacked size cap); package refused`,
      );
    }
    if (type === '1' || type === '2') {
      const target = linkTarget(path, rawLink, type === '1');
      if (path !== '' && want(path)) {
        result.skipped.push({
          path,
          reason: `link to "${target}" not extracted (links are never followed)`,
        });
      }
    } else if (isFile && path !== '' && want(path)) {
      if (size > limits.maxFileBytes) {
        result.skipped.push({
          path,
          reason: `file of ${size} bytes is over the ${limits.maxFileBytes}-byte cap`,
        });
      } else {
        const data = await reader.read(padded);
        if (!data) throw new TarballRefused('tarball ends inside an entry');
        const file = join(dest, ...path.split('/'));
        try {
          await mkdir(dirname(file), { recursive: true });
          await writeFile(file, data.subarray(0, size));
          result.files.push(path);
        } catch (err) {
          result.skipped.push({
            path,
            reason: `cannot write (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
          });
        }
        continue;
      }
    }
    // Folders are created as files need them; devices, FIFOs and the rest are never documentation.
    if (!(await reader.skip(padded))) throw new TarballRefused('tarball ends inside an entry');
  }
  // Trailing zero blocks (and nothing else, in a sound tarball) follow the end marker.
  if (!(await reader.drain(limits.maxTotalBytes))) {
    throw new TarballRefused(
      'tarball has more than the size cap of data after its end; package refused',
    );
  }
  return result;
}
