/**
 * The built CLI (`dist/server/cli.js`) as a user runs it: one data directory, the Fastify corpus
 * indexed once, queries in process and through a running `twinmcp serve`, exit codes, the lock,
 * and the HTTP API's localhost defences.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ensureBuilt, runProcess, showRun, type RunResult } from '../helpers/built-cli.js';
import { requireCorpus } from '../helpers/corpus.js';

const HOOKS_QUESTION = 'run code before the route handler';

describe('CLI end to end (dist/server/cli.js)', function () {
  let tmp: string;
  let dataDir: string;
  let lockFile: string;
  let fastifyDir: string;
  let env: NodeJS.ProcessEnv;

  /** Runs the CLI to completion (killing it after `timeoutMs`). */
  const run = (args: string[], timeoutMs = 60_000): Promise<RunResult> =>
    runProcess(process.execPath, [CLI, ...args], { cwd: tmp, env, timeoutMs });

  const show = showRun;

  before(function () {
    this.timeout(120_000);
    fastifyDir = requireCorpus(this, 'md/fastify');
    ensureBuilt();
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-cli-e2e-'));
    dataDir = join(tmp, 'data');
    lockFile = `${dataDir}.lock`;
    env = {
      ...process.env,
      TWINMCP_DATA_DIR: dataDir,
      TWINMCP_PORT: '0',
      TWINMCP_HOST: '127.0.0.1',
      TWINMCP_LOG_LEVEL: 'warn',
    };
    delete env.DATABASE_URL;
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('without a server', () => {
    it('add indexes the corpus and prints a summary', async function () {
      this.timeout(90_000);
      const r = await run(['add', fastifyDir, '--id', '/fastify/fastify']);
      assert.equal(r.code, 0, show(r));
      assert.match(
        r.stdout,
        /Indexed \/fastify\/fastify: 42 pages, [\d,]+ chunks, [\d,.]+M? tokens in [\d.]+m?s/,
        show(r),
      );
      assert.doesNotMatch(r.stdout, /Skipped/, show(r));
      assert.equal(existsSync(lockFile), false, 'the one-shot command released its lock');
    });

    it('query prints the Hooks documentation', async function () {
      this.timeout(30_000);
      const r = await run(['query', '/fastify/fastify', HOOKS_QUESTION]);
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, /^### /, show(r));
      assert.match(r.stdout, /onRequest|preHandler/);
      assert.match(r.stdout, /^Source: Reference\/Hooks\.md/m, show(r));
    });

    it('exits 3 for an unknown library, naming the closest', async function () {
      this.timeout(30_000);
      const r = await run(['query', '/nope/nope', 'hooks']);
      assert.equal(r.code, 3, show(r));
      assert.match(r.stderr, /\/nope\/nope/);
      assert.match(r.stderr, /\/fastify\/fastify/);
    });

    it('exits 2 for an invalid library id and for bad usage', async function () {
      this.timeout(30_000);
      for (const args of [
        ['query', 'bad-id', 'hooks'],
        ['frobnicate'],
        ['query'],
        ['query', '/fastify/fastify', 'hooks', '--tokens', 'many'],
        ['serve', '--port', '99999'],
      ]) {
        const r = await run(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${show(r)}`);
        assert.ok(r.stderr.trim().length > 0, `${args.join(' ')} explains itself on stderr`);
      }
    });
  });

  describe('with `serve` running', () => {
    let server: ChildProcess | undefined;
    let serverExit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
    let serverOut = '';
    let base: string;
    let port: number;

    /** One HTTP request to the server, with full control of Host and Origin. */
    function request(
      path: string,
      opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
    ): Promise<{ status: number; type: string; body: string }> {
      return new Promise((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            path,
            method: opts.method ?? 'GET',
            headers: { Host: `127.0.0.1:${port}`, ...opts.headers },
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (body += d));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                type: String(res.headers['content-type'] ?? ''),
                body,
              }),
            );
          },
        );
        req.once('error', reject);
        req.end(opts.body);
      });
    }

    before(async function () {
      this.timeout(60_000);
      server = spawn(process.execPath, [CLI, 'serve', '--port', '0'], {
        cwd: tmp,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      server.stdout!.on('data', (d: Buffer) => (serverOut += d.toString()));
      server.stderr!.on('data', (d: Buffer) => (serverOut += d.toString()));
      serverExit = new Promise((resolve) =>
        server!.once('exit', (code, signal) => resolve({ code, signal })),
      );
      // Ready once it prints its URL; the lock must then hold the same port.
      const deadline = Date.now() + 45_000;
      for (;;) {
        const m = /TwinMCP listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(serverOut);
        if (m) {
          base = m[1]!;
          port = Number(m[2]);
          break;
        }
        if (server.exitCode !== null) assert.fail(`serve exited early:\n${serverOut}`);
        if (Date.now() > deadline) assert.fail(`serve did not start in 45 s:\n${serverOut}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number; port: number };
      assert.equal(lock.pid, server.pid);
      assert.equal(lock.port, port);
      assert.ok(base);
    });

    after(async function () {
      this.timeout(20_000);
      // Only if a test failed before the SIGTERM test stopped it.
      if (server && server.exitCode === null && server.signalCode === null) {
        server.kill('SIGKILL');
        await serverExit;
      }
    });

    it('query talks to the server and prints the Hooks documentation', async function () {
      this.timeout(30_000);
      // The server holds the lock, so this can only succeed through it.
      const r = await run(['query', '/fastify/fastify', HOOKS_QUESTION]);
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, /onRequest|preHandler/);
      assert.match(r.stdout, /^Source: Reference\/Hooks\.md/m, show(r));
    });

    it('list shows the library', async function () {
      this.timeout(30_000);
      const r = await run(['list']);
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, /^\/fastify\/fastify\s+.*\d+ snippets/m, show(r));
    });

    it('exit codes hold through the server too', async function () {
      this.timeout(30_000);
      const missing = await run(['query', '/nope/nope', 'hooks']);
      assert.equal(missing.code, 3, show(missing));
      const invalid = await run(['query', 'bad-id', 'hooks']);
      assert.equal(invalid.code, 2, show(invalid));
    });

    it('a second serve on the same data directory exits 2 naming the owner pid', async function () {
      this.timeout(30_000);
      const r = await run(['serve', '--port', '0'], 20_000);
      assert.equal(r.code, 2, show(r));
      assert.match(r.stderr, new RegExp(`process ${server!.pid}\\b`), show(r));
      assert.ok(existsSync(lockFile), 'the lock of the running server is left alone');
      assert.equal(JSON.parse(readFileSync(lockFile, 'utf8')).pid, server!.pid);
    });

    it('GET /api/v1/context answers with text', async () => {
      const res = await request('/api/v1/context?libraryId=/fastify/fastify&query=hooks');
      assert.equal(res.status, 200, res.body);
      assert.match(res.type, /^text\/plain/);
      assert.match(res.body, /^### /);
      assert.match(res.body, /^Source: /m);
    });

    it('refuses a foreign Host header (DNS rebinding) with 403', async () => {
      const res = await request('/api/v1/context?libraryId=/fastify/fastify&query=hooks', {
        headers: { Host: 'evil.example' },
      });
      assert.equal(res.status, 403, res.body);
      assert.doesNotMatch(res.body, /### /);
    });

    it('refuses a foreign Origin with 403', async () => {
      const res = await request('/api/v1/context?libraryId=/fastify/fastify&query=hooks', {
        headers: { Origin: 'https://evil.example' },
      });
      assert.equal(res.status, 403, res.body);
      assert.doesNotMatch(res.body, /### /);
    });

    it('refuses POST /api/v1/libs with a local path and no admin token', async () => {
      const res = await request('/api/v1/libs', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ source: fastifyDir, libraryId: '/evil/copy' }),
      });
      assert.equal(res.status, 403, res.body);
      assert.equal(JSON.parse(res.body).error, 'forbidden');
      const libs = await request('/api/v1/libs');
      assert.doesNotMatch(libs.body, /\/evil\/copy/);
    });

    it('GET /health reports the embedded database', async () => {
      const res = await request('/health');
      assert.equal(res.status, 200, res.body);
      const health = JSON.parse(res.body) as {
        status: string;
        database: string;
        libraries: number;
      };
      assert.equal(health.status, 'ok');
      assert.equal(health.database, 'pglite');
      assert.equal(health.libraries, 1);
    });

    it('SIGTERM stops the server and removes the lock file', async function () {
      this.timeout(20_000);
      assert.ok(server?.kill('SIGTERM'));
      const exit = await serverExit;
      assert.deepEqual(exit, { code: 0, signal: null }, serverOut);
      assert.equal(existsSync(lockFile), false, 'lock file removed');
    });
  });
});
