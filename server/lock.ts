/**
 * One owner per data directory. The embedded database (PGlite) must not be opened by two
 * processes, so `twinmcp serve` and a CLI command that opens the engine itself each hold a lock
 * file; other CLI commands read it to find the running server and its admin token.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** What the lock file holds (mode 0600: the admin token is in it). */
export interface LockInfo {
  pid: number;
  /** Set once the server listens. */
  port?: number;
  /** Address the server is bound to. */
  host?: string;
  /** The twinmcp command holding the lock (`serve`, `add`, ...). */
  command?: string;
  adminToken: string;
  dataDir: string;
  startedAt: string;
}

export type LockRequest = Omit<LockInfo, 'startedAt'>;

export interface Lock {
  readonly path: string;
  readonly info: LockInfo;
  /** Rewrites the lock atomically (temp file + rename), e.g. with the port once listening. */
  update(patch: Partial<Pick<LockInfo, 'port' | 'host'>>): Promise<void>;
  /** Removes the lock file if it is still ours; safe to call twice. */
  release(): Promise<void>;
  /** Synchronous release for `process.on('exit')`, where nothing async runs. */
  releaseSync(): void;
}

/** Another live process owns the data directory. */
export class LockHeldError extends Error {
  constructor(
    readonly lockPath: string,
    readonly owner: LockInfo,
  ) {
    super(
      `TwinMCP data directory ${owner.dataDir} is in use by process ${owner.pid} (${describeOwner(owner)})`,
    );
    this.name = 'LockHeldError';
  }
}

/** A fresh secret for the local admin token: 256 bits, URL-safe. */
export function generateAdminToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/**
 * Takes the lock at `lockPath`, or throws LockHeldError when a live process holds it.
 * A lock left by a dead process is taken over.
 */
export async function acquireLock(lockPath: string, request: LockRequest): Promise<Lock> {
  const info: LockInfo = { ...request, startedAt: new Date().toISOString() };
  await fsp.mkdir(path.dirname(lockPath), { recursive: true });
  // Two rounds: the first may find a stale lock and move it aside; the second must then win or
  // lose against whoever else raced for it.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createExclusive(lockPath, info)) return new FileLock(lockPath, info);
    const existing = await readInfo(lockPath);
    if (existing === 'missing') continue;
    if (existing !== 'invalid' && isAlive(existing.pid))
      throw new LockHeldError(lockPath, existing);
    await moveStaleAside(lockPath, existing);
  }
  const owner = await readInfo(lockPath);
  if (typeof owner === 'object') throw new LockHeldError(lockPath, owner);
  throw new Error(`Could not take the lock ${lockPath}; another process keeps replacing it`);
}

/** The live owner of the lock, or undefined when none; never modifies the file. */
export async function readLock(lockPath: string): Promise<LockInfo | undefined> {
  const info = await readInfo(lockPath);
  return typeof info === 'object' && isAlive(info.pid) ? info : undefined;
}

class FileLock implements Lock {
  #released = false;

  constructor(
    readonly path: string,
    public info: LockInfo,
  ) {}

  async update(patch: Partial<Pick<LockInfo, 'port' | 'host'>>): Promise<void> {
    if (this.#released) throw new Error('The lock was released');
    const next = { ...this.info, ...patch };
    const temp = tempPath(this.path);
    await writeNew(temp, next);
    try {
      await fsp.rename(temp, this.path);
    } catch (err) {
      await fsp.rm(temp, { force: true });
      throw err;
    }
    this.info = next;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const current = await readInfo(this.path);
    if (typeof current === 'object' && this.isMine(current))
      await fsp.rm(this.path, { force: true });
  }

  releaseSync(): void {
    if (this.#released) return;
    this.#released = true;
    try {
      const current = parseInfo(fs.readFileSync(this.path, 'utf8'));
      if (current && this.isMine(current)) fs.rmSync(this.path, { force: true });
    } catch {
      // Already gone, or unreadable: either way there is nothing of ours to remove.
    }
  }

  // The token is a per-acquisition nonce, so it tells our lock from a later one by the same pid.
  private isMine(current: LockInfo): boolean {
    return current.pid === this.info.pid && current.adminToken === this.info.adminToken;
  }
}

/**
 * Writes the content to a private temp file and hard-links it into place: link() fails with
 * EEXIST like open('wx'), but readers never see a half-written lock (which they could not tell
 * from a corrupt, stale one).
 */
async function createExclusive(lockPath: string, info: LockInfo): Promise<boolean> {
  const temp = tempPath(lockPath);
  await writeNew(temp, info);
  try {
    await fsp.link(temp, lockPath);
    return true;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    throw err;
  } finally {
    await fsp.rm(temp, { force: true });
  }
}

async function writeNew(file: string, info: LockInfo): Promise<void> {
  const handle = await fsp.open(file, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(info, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Renames the stale lock away instead of unlinking it: if another process replaced it with a
 * live lock in the meantime, we notice from the content and put theirs back.
 */
async function moveStaleAside(lockPath: string, seen: LockInfo | 'invalid'): Promise<void> {
  const aside = `${lockPath}.stale-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    await fsp.rename(lockPath, aside);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return;
    throw err;
  }
  const moved = await readInfo(aside);
  const sameStale =
    seen === 'invalid'
      ? moved === 'invalid'
      : typeof moved === 'object' && moved.pid === seen.pid && moved.adminToken === seen.adminToken;
  if (!sameStale && typeof moved === 'object' && isAlive(moved.pid)) {
    await fsp.link(aside, lockPath).catch(() => undefined);
  }
  await fsp.rm(aside, { force: true });
}

async function readInfo(lockPath: string): Promise<LockInfo | 'missing' | 'invalid'> {
  let text: string;
  try {
    text = await fsp.readFile(lockPath, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return 'missing';
    throw err;
  }
  return parseInfo(text) ?? 'invalid';
}

function parseInfo(text: string): LockInfo | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return undefined;
    const o = v as Record<string, unknown>;
    if (
      !Number.isInteger(o.pid) ||
      typeof o.adminToken !== 'string' ||
      typeof o.dataDir !== 'string'
    ) {
      return undefined;
    }
    return v as LockInfo;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user; it is alive.
    return errorCode(err) === 'EPERM';
  }
}

function describeOwner(owner: LockInfo): string {
  const command = `twinmcp ${owner.command ?? 'serve'}`;
  if (owner.port !== undefined) return `${command} on port ${owner.port}`;
  return owner.command === 'serve' || owner.command === undefined
    ? `${command}, starting`
    : command;
}

function tempPath(lockPath: string): string {
  return `${lockPath}.${process.pid}-${crypto.randomBytes(4).toString('hex')}.tmp`;
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}
