import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { MIGRATIONS } from '../../server/db/schema.js';
import { CLI, ensureBuilt, runProcess, showRun } from '../helpers/built-cli.js';
import { cliEnv, startCli } from './ops-helpers.js';
import { REPO_ROOT } from '../helpers/corpus.js';
import { sharedPostgresServer } from '../helpers/pg-server.js';

describe('operations: migrate, config file and graceful shutdown of the built CLI', function () {
  this.timeout(1_200_000);
  let tmp: string;

  before(async () => {
    ensureBuilt();
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-ops-cli-'));
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('4 concurrent `migrate` processes on a fresh database all exit 0 and migrate once', async () => {
    const server = await sharedPostgresServer();
    const url = await server.createDatabase();
    try {
      const runs = await Promise.all(
        [0, 1, 2, 3].map((i) =>
          runProcess(process.execPath, [CLI, 'migrate'], {
            cwd: REPO_ROOT,
            env: cliEnv(tmp, `m${i}`, { DATABASE_URL: url, TWINMCP_LOG_LEVEL: 'info' }),
            // ~15 s alone; 4 at once took 70 s on a machine shared by many suites.
            timeoutMs: 600_000,
          }),
        ),
      );
      const appliedBy: number[] = [];
      for (const r of runs) {
        assert.equal(r.code, 0, showRun(r));
        const m = /Applied migrations ([\d, ]+) to PostgreSQL/.exec(r.stdout);
        if (m) appliedBy.push(...m[1]!.split(', ').map(Number));
        else assert.match(r.stdout, /is up to date/, showRun(r));
      }
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        const rows = await sql<{ version: number }[]>`SELECT version FROM schema_migrations`;
        const recorded = rows.map((r) => r.version).sort((a, b) => a - b);
        // Each migration was applied by exactly one of the four.
        assert.deepEqual(
          [...appliedBy].sort((a, b) => a - b),
          recorded,
        );
        const required = MIGRATIONS.filter((m) => !m.requiresExtension).map((m) => m.version);
        for (const v of required) assert.ok(recorded.includes(v), `migration ${v} missing`);
      } finally {
        await sql.end({ timeout: 1 });
      }
      // A fifth run finds nothing to do.
      const again = await runProcess(process.execPath, [CLI, 'migrate'], {
        cwd: REPO_ROOT,
        env: cliEnv(tmp, 'm4', { DATABASE_URL: url }),
        timeoutMs: 300_000,
      });
      assert.equal(again.code, 0, showRun(again));
      assert.match(again.stdout, /Schema of PostgreSQL is up to date/);
    } finally {
      await server.dropDatabase(url);
    }
  });

  it('takes its settings from --config FILE (the database URL here)', async () => {
    const server = await sharedPostgresServer();
    const url = await server.createDatabase();
    try {
      const file = join(tmp, 'twinmcp.yaml');
      writeFileSync(file, `DATABASE_URL: ${url}\nTWINMCP_LOG_LEVEL: warn\n`);
      const r = await runProcess(process.execPath, [CLI, '--config', file, 'migrate'], {
        cwd: REPO_ROOT,
        env: cliEnv(tmp, 'cfg'),
        timeoutMs: 300_000,
      });
      assert.equal(r.code, 0, showRun(r));
      assert.match(r.stdout, /Applied migrations 1, .* to PostgreSQL/);
    } finally {
      await server.dropDatabase(url);
    }
  });

  it('on SIGTERM finishes an in-flight request with 200, refuses new ones and exits 0', async () => {
    const server = await sharedPostgresServer();
    const url = await server.createDatabase();
    const serve = await startCli(
      ['serve', '--port', '0'],
      cliEnv(tmp, 'graceful', { DATABASE_URL: url, TWINMCP_LOG_LEVEL: 'info' }),
      /TwinMCP listening on http:\/\/127\.0\.0\.1:(\d+)/,
    );
    const port = Number(serve.match[1]);
    try {
      // A slow client: the request is in flight (headers and half its body sent) at SIGTERM.
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'resolve-library-id', arguments: { libraryName: 'fastify' } },
      });
      const half = Math.floor(body.length / 2);
      const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            path: '/mcp',
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              accept: 'application/json, text/event-stream',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on('error', reject);
        req.write(body.slice(0, half));
        setTimeout(() => {
          serve.child.kill('SIGTERM');
          // A new client while shutting down is not served.
          setTimeout(() => {
            fetch(`http://127.0.0.1:${port}/health`).then(
              (r) => (newcomer = r.status),
              () => (newcomer = 'refused'),
            );
            setTimeout(() => req.end(body.slice(half)), 700);
          }, 300);
        }, 300);
      });
      let newcomer: number | 'refused' | undefined;
      const { status, text } = await response;
      assert.equal(status, 200, text);
      assert.match(text, /"result"/);
      assert.equal(await serve.exit, 0, serve.output());
      assert.ok(newcomer === 'refused' || newcomer === 503, `a new request got ${newcomer}`);
      assert.match(serve.output(), /Shutting down/);
    } finally {
      serve.child.kill('SIGKILL');
      await server.dropDatabase(url);
    }
  });
});
