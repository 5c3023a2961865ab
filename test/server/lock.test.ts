import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  acquireLock,
  generateAdminToken,
  LockHeldError,
  readLock,
  type LockInfo,
} from '../../server/lock.js';

describe('data directory lock', () => {
  let dir: string;
  let lockPath: string;
  const request = () => ({
    pid: process.pid,
    adminToken: generateAdminToken(),
    dataDir: path.join(dir, 'data'),
    command: 'serve',
  });

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'twinmcp-lock-'));
    lockPath = path.join(dir, 'data.lock');
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('creates the lock with its info, readable only by the user', async () => {
    const lock = await acquireLock(lockPath, request());
    const info = JSON.parse(await fs.readFile(lockPath, 'utf8')) as LockInfo;
    assert.equal(info.pid, process.pid);
    assert.equal(info.adminToken, lock.info.adminToken);
    assert.match(info.adminToken, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!Number.isNaN(Date.parse(info.startedAt)));
    if (process.platform !== 'win32') assert.equal((await fs.stat(lockPath)).mode & 0o777, 0o600);
    assert.deepEqual(await readLock(lockPath), info);
    // No temp files left behind.
    assert.deepEqual(await fs.readdir(dir), ['data.lock']);
    await lock.release();
  });

  it('refuses a second owner with a message naming the process', async () => {
    const lock = await acquireLock(lockPath, request());
    await lock.update({ port: 7377 });
    await assert.rejects(acquireLock(lockPath, request()), (err: unknown) => {
      assert.ok(err instanceof LockHeldError);
      assert.equal(
        err.message,
        `TwinMCP data directory ${path.join(dir, 'data')} is in use by process ${process.pid} (twinmcp serve on port 7377)`,
      );
      return true;
    });
    await lock.release();
  });

  it('only one of several concurrent acquirers wins', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => acquireLock(lockPath, request())),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    for (const r of results)
      if (r.status === 'rejected') assert.ok(r.reason instanceof LockHeldError);
    await (
      won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLock>>>
    ).value.release();
  });

  it('takes over a lock left by a dead process', async () => {
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
    assert.ok(deadPid);
    const stale: LockInfo = {
      ...request(),
      pid: deadPid,
      port: 1,
      startedAt: new Date(0).toISOString(),
    };
    await fs.writeFile(lockPath, JSON.stringify(stale), { mode: 0o600 });
    assert.equal(await readLock(lockPath), undefined);
    // readLock never removes anything.
    assert.equal(JSON.parse(await fs.readFile(lockPath, 'utf8')).pid, deadPid);

    const lock = await acquireLock(lockPath, request());
    assert.equal((await readLock(lockPath))?.adminToken, lock.info.adminToken);
    assert.deepEqual(await fs.readdir(dir), ['data.lock']);
    await lock.release();
  });

  it('takes over a corrupt lock file', async () => {
    await fs.writeFile(lockPath, '{not json');
    const lock = await acquireLock(lockPath, request());
    assert.equal((await readLock(lockPath))?.pid, process.pid);
    await lock.release();
  });

  it('updates atomically, keeping the mode, and releases only its own lock', async () => {
    const lock = await acquireLock(lockPath, request());
    await lock.update({ port: 40123, host: '127.0.0.1' });
    const info = await readLock(lockPath);
    assert.equal(info?.port, 40123);
    assert.equal(info?.host, '127.0.0.1');
    assert.equal(info?.adminToken, lock.info.adminToken);
    if (process.platform !== 'win32') assert.equal((await fs.stat(lockPath)).mode & 0o777, 0o600);
    assert.deepEqual(await fs.readdir(dir), ['data.lock']);

    // Someone else's lock now sits at the path: release must leave it alone.
    const other: LockInfo = { ...request(), startedAt: new Date().toISOString() };
    await fs.writeFile(lockPath, JSON.stringify(other));
    await lock.release();
    assert.equal((await readLock(lockPath))?.adminToken, other.adminToken);
    await fs.rm(lockPath);

    const second = await acquireLock(lockPath, request());
    await second.release();
    await second.release();
    assert.deepEqual(await fs.readdir(dir), []);
    assert.equal(await readLock(lockPath), undefined);
  });

  it('releaseSync removes the lock for exit handlers', async () => {
    const lock = await acquireLock(lockPath, request());
    lock.releaseSync();
    assert.deepEqual(await fs.readdir(dir), []);
  });
});
