import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Job, LibrarySummary } from '../../shared/api.js';
import { parseArgs } from '../../server/cli/args.js';
import type { EngineFactory } from '../../server/cli/backend.js';
import { main } from '../../server/cli/main.js';
import type { Db } from '../../server/db/db.js';
import { EngineError, type AddSourceRequest, type Engine } from '../../server/engine-types.js';
import { acquireLock, generateAdminToken, readLock } from '../../server/lock.js';

const noOutput = { out: () => undefined, err: () => undefined };

describe('twinmcp argument parsing', () => {
  it('parses each command into a plain object', () => {
    assert.deepEqual(parseArgs(['serve', '--port', '0', '--host', '::1'], noOutput), {
      command: { name: 'serve', port: 0, host: '::1' },
    });
    assert.deepEqual(
      parseArgs(
        [
          'add',
          './docs',
          '--name',
          'Docs',
          '--id',
          '/me/docs',
          '--version',
          'v2',
          '--ref',
          'main',
          '--latest',
        ],
        noOutput,
      ),
      {
        command: {
          name: 'add',
          source: './docs',
          title: 'Docs',
          libraryId: '/me/docs',
          version: 'v2',
          ref: 'main',
          latest: true,
        },
      },
    );
    assert.deepEqual(parseArgs(['list'], noOutput), { command: { name: 'list' } });
    assert.deepEqual(parseArgs(['resolve', 'next.js', 'app', 'router'], noOutput), {
      command: { name: 'resolve', libraryName: 'next.js', query: 'app router' },
    });
    assert.deepEqual(
      parseArgs(
        ['query', '/vercel/next.js/v14', 'middleware', 'auth', '-t', '3000', '--json'],
        noOutput,
      ),
      {
        command: {
          name: 'query',
          libraryId: '/vercel/next.js/v14',
          query: 'middleware auth',
          tokens: 3000,
          json: true,
        },
      },
    );
    assert.deepEqual(parseArgs(['remove', '/a/b'], noOutput), {
      command: { name: 'remove', libraryId: '/a/b' },
    });
  });

  it('ends with 0 for help and version, printing to stdout', () => {
    let out = '';
    const capture = { out: (t: string) => void (out += t), err: () => undefined };
    assert.deepEqual(parseArgs(['--version'], capture), { exitCode: 0 });
    assert.match(out, /^\d+\.\d+\.\d+/);
    assert.deepEqual(parseArgs(['query', '--help'], capture), { exitCode: 0 });
    assert.match(out, /--tokens/);
  });
});

describe('twinmcp exit codes', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let out: string;
  let err: string;
  const io = () => ({
    env,
    cwd: dir,
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
  });
  const noEngine: EngineFactory = () => Promise.reject(new Error('the engine must not be opened'));
  const run = (argv: string[], createEngine: EngineFactory = noEngine) =>
    main(argv, { ...io(), createEngine });

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'twinmcp-cli-'));
    env = { TWINMCP_DATA_DIR: path.join(dir, 'data'), TWINMCP_LOG_LEVEL: 'silent' };
    out = '';
    err = '';
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('2 for bad usage, without opening anything', async () => {
    for (const argv of [
      [],
      ['bogus'],
      ['query', '/a/b'],
      ['query', 'not-an-id', 'routing'],
      ['query', '/a/b', 'q', '--tokens', 'many'],
      ['remove'],
      ['serve', '--port', '70000'],
      ['list', 'extra'],
    ]) {
      err = '';
      assert.equal(await run(argv), 2, argv.join(' '));
      assert.match(err, /error|Usage/, argv.join(' '));
    }
    assert.deepEqual(await fs.readdir(dir), []);
  });

  it('0 for --help and --version', async () => {
    assert.equal(await run(['--help']), 0);
    assert.match(out, /Usage: twinmcp/);
    assert.equal(await run(['--version']), 0);
  });

  it('2 for an invalid environment variable, naming it', async () => {
    env.TWINMCP_PORT = 'seventy';
    assert.equal(await run(['list']), 2);
    assert.match(err, /TWINMCP_PORT/);
    assert.doesNotMatch(err, /\n\s+at /);
  });

  it('opens the engine in-process when no server runs, holding the lock meanwhile', async () => {
    const engine = new FakeEngine();
    let lockSeen: number | undefined;
    const factory: EngineFactory = async ({ config }) => {
      lockSeen = (await readLock(config.lockFile))?.pid;
      return engine;
    };
    assert.equal(await run(['list'], factory), 0);
    assert.match(out, /\/fastify\/fastify {2}Fastify/);
    assert.equal(lockSeen, process.pid);
    assert.equal(engine.closed, true);
    assert.equal(await readLock(path.join(dir, 'data.lock')), undefined);
  });

  it('3 for not found, 1 for other errors, message without stack', async () => {
    assert.equal(await run(['query', '/x/y', 'routing'], async () => new FakeEngine()), 3);
    assert.match(err, /^error: Library \/x\/y not found\n$/);
    assert.equal(await run(['remove', '/x/y'], async () => new FakeEngine()), 3);
    err = '';
    assert.equal(await run(['list']), 1);
    assert.equal(err, 'error: the engine must not be opened\n');
  });

  it('2 when another command holds the data directory', async () => {
    const held = await acquireLock(path.join(dir, 'data.lock'), {
      pid: process.pid,
      adminToken: generateAdminToken(),
      dataDir: path.join(dir, 'data'),
      command: 'add',
    });
    assert.equal(await run(['list']), 2);
    assert.match(err, new RegExp(`in use by process ${process.pid} \\(twinmcp add\\)`));
    await held.release();
  });

  it('serve publishes its port; other commands then go through it with the admin token', async () => {
    const engine = new FakeEngine();
    const stop = new AbortController();
    const serving = main(['serve', '--port', '0'], {
      ...io(),
      createEngine: async () => engine,
      stopSignal: stop.signal,
    });
    const lockFile = path.join(dir, 'data.lock');
    let info = await readLock(lockFile);
    for (let i = 0; i < 100 && info?.port === undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
      info = await readLock(lockFile);
    }
    assert.ok(info?.port, 'serve wrote its port');
    assert.match(out, new RegExp(`listening on http://127\\.0\\.0\\.1:${info.port}`));

    out = '';
    assert.equal(await run(['list']), 0);
    assert.match(out, /\/fastify\/fastify/);
    assert.equal(await run(['remove', '/x/y']), 3);
    assert.equal(await run(['add', 'docs', '--id', '/me/docs']), 0);
    // Relative paths are sent absolute, and the lock's token makes the request trusted.
    assert.deepEqual(engine.added, [
      { source: path.join(dir, 'docs'), libraryId: '/me/docs', trustedLocal: true },
    ]);
    assert.match(
      out,
      /Indexed \/me\/docs: 3 pages, 12 chunks, 4,000 tokens in 1\.5s\nSkipped 1 file:\n {2}big\.bin: binary/,
    );

    stop.abort();
    assert.equal(await serving, 0);
    assert.equal(engine.closed, true);
    assert.equal(await readLock(lockFile), undefined);
  });
});

const LIBRARY: LibrarySummary = {
  id: '/fastify/fastify',
  title: 'Fastify',
  description: 'Fast web framework',
  totalSnippets: 10,
  totalTokens: 1234,
  trustScore: 8,
  versions: ['v5'],
  lastUpdateDate: null,
  state: 'ready',
};

// A test double of our own Engine for the CLI plumbing only; the engine has its own tests.
class FakeEngine implements Engine {
  readonly db = { dialect: 'pglite', hasVector: false } as unknown as Db;
  added: AddSourceRequest[] = [];
  closed = false;

  async resolve() {
    return [{ ...LIBRARY, score: 1 }];
  }
  async query(libraryId: string): Promise<never> {
    throw new EngineError('library_not_found', `Library ${libraryId} not found`, [
      '/fastify/fastify',
    ]);
  }
  async listLibraries() {
    return [LIBRARY];
  }
  async addSource(req: AddSourceRequest): Promise<Job> {
    this.added.push(req);
    return this.job('queued', req.libraryId ?? null);
  }
  async getJob(id: string) {
    return id === 'job-1' ? this.job('succeeded', '/me/docs') : undefined;
  }
  async waitForJob(): Promise<Job> {
    return this.job('succeeded', '/me/docs');
  }
  async removeLibrary() {
    return false;
  }
  async close() {
    this.closed = true;
  }
  private job(state: Job['state'], libraryId: string | null): Job {
    return {
      id: 'job-1',
      kind: 'index',
      state,
      libraryId,
      version: null,
      progress: {
        phase: 'done',
        pages: 3,
        chunks: 12,
        tokens: 4000,
        skipped: [{ path: 'big.bin', reason: 'binary' }],
        elapsedMs: 1500,
      },
      error: null,
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-01T00:00:00.000Z',
    };
  }
}
