/**
 * The MCP server through the SDK's real Client: the same suite (mcp-suite.ts) over Streamable HTTP
 * against the Fastify app on a real socket and over stdio against the built CLI, plus raw HTTP
 * error paths, and in memory for timeouts. A small Markdown library is
 * indexed through the real engine first.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { FastifyInstance } from 'fastify';
import { WORKSPACE_DEPS_HEADER } from '../../shared/mcp.js';
import { main } from '../../server/cli/main.js';
import { loadConfig } from '../../server/config.js';
import type { Db } from '../../server/db/db.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import type { CallContext, Engine } from '../../server/engine-types.js';
import { buildApp } from '../../server/http/app.js';
import { connectMcpServer, createMcpServer } from '../../server/mcp/server.js';
import { clampOutput, MAX_OUTPUT_TOKENS } from '../../server/mcp/tools.js';
import { countTokens } from '../../server/indexing/tokens.js';
import { SNIPPET_SEPARATOR } from '../../server/search/format.js';
import { openTestPglite } from '../helpers/backends.js';
import { CLI, ensureBuilt } from '../helpers/built-cli.js';
import { LIBRARY_ID, mcpClientSuite, text, writeDocs } from './mcp-suite.js';
import { REPO_ROOT } from '../helpers/corpus.js';

/** The real engine, with the contexts it was called with recorded. */
function recording(engine: Engine): { engine: Engine; contexts: CallContext[] } {
  const contexts: CallContext[] = [];
  const wrapped: Engine = Object.create(engine) as Engine;
  wrapped.resolve = (name, query, ctx) => {
    contexts.push(ctx);
    return engine.resolve(name, query, ctx);
  };
  wrapped.query = (id, query, tokens, ctx) => {
    contexts.push(ctx);
    return engine.query(id, query, tokens, ctx);
  };
  return { engine: wrapped, contexts };
}

const ACCEPT = 'application/json, text/event-stream';

describe('MCP server', function () {
  this.timeout(120_000);
  let tmp: string;
  let db: Db;
  let engine: TwinEngine;
  let contexts: CallContext[];
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-mcp-'));
    writeDocs(join(tmp, 'docs'));
    db = await openTestPglite();
    engine = await createEngine({ config: { dataDir: join(tmp, 'data') }, db, worker: true });
    const job = await engine.addSource({
      source: join(tmp, 'docs'),
      libraryId: LIBRARY_ID,
      name: 'WidgetKit',
      trustedLocal: true,
    });
    const done = await engine.waitForJob(job.id);
    assert.equal(done.state, 'succeeded', `indexing failed: ${done.error}`);
    const rec = recording(engine);
    contexts = rec.contexts;
    const config = loadConfig({ TWINMCP_DATA_DIR: join(tmp, 'data'), TWINMCP_LOG_LEVEL: 'silent' });
    app = await buildApp({ engine: rec.engine, config, boundHost: '127.0.0.1' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
  });

  after(async () => {
    await app?.close();
    await engine?.close();
    await db?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('over Streamable HTTP with the SDK client', () => {
    let client: Client;

    before(async () => {
      client = new Client({ name: 'mcp-test', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
          requestInit: {
            headers: { [WORKSPACE_DEPS_HEADER]: JSON.stringify({ widgetkit: '^2.1.0' }) },
          },
        }),
      );
    });
    after(() => client?.close());

    const call = (name: string, args: Record<string, unknown>) =>
      client.callTool({ name, arguments: args });

    mcpClientSuite(() => client);

    it('passes the workspace header and the mcp client to the engine', async () => {
      contexts.length = 0;
      await call('query-docs', { libraryId: LIBRARY_ID, query: 'refresh interval' });
      assert.deepEqual(contexts.at(-1), { client: 'mcp', workspaceDeps: { widgetkit: '^2.1.0' } });
    });
  });

  describe('raw HTTP', () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${base}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers },
        body,
      });

    it('answers malformed JSON with a JSON-RPC parse error', async () => {
      const res = await post('{"jsonrpc": "2.0", "id": 1, "method": ');
      assert.equal(res.status, 400);
      const body = (await res.json()) as { error: { code: number } };
      assert.equal(body.error.code, -32700);
    });

    it('answers an unknown method with -32601', async () => {
      const res = await post(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'no/such/method' }));
      const body = (await res.json()) as { id: number; error: { code: number } };
      assert.equal(body.id, 7);
      assert.equal(body.error.code, -32601);
    });

    it('answers a tools/list without a session (stateless)', async () => {
      const res = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
      assert.equal(res.status, 200);
      const body = (await res.json()) as { result: { tools: unknown[] } };
      assert.equal(body.result.tools.length, 3);
    });

    it('refuses GET and DELETE with 405 in stateless mode', async () => {
      for (const method of ['GET', 'DELETE']) {
        const res = await fetch(`${base}/mcp`, { method, headers: { accept: ACCEPT } });
        assert.equal(res.status, 405, method);
        assert.equal(res.headers.get('allow'), 'POST');
        const body = (await res.json()) as { jsonrpc: string; error: { code: number } };
        assert.equal(body.jsonrpc, '2.0');
      }
    });

    it('refuses a body over 1 MiB with 413', async () => {
      const big = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/list',
        params: { pad: 'x'.repeat(1024 * 1024 + 10) },
      });
      const res = await post(big);
      assert.equal(res.status, 413);
    });

    it('refuses a foreign Host header with 403 (DNS rebinding)', async () => {
      const { port } = new URL(base);
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: Number(port),
            path: '/mcp',
            method: 'POST',
            headers: {
              host: 'evil.example.com',
              'content-type': 'application/json',
              accept: ACCEPT,
            },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
      });
      assert.equal(status, 403);
    });
  });

  describe('in process', () => {
    it('turns a call slower than the timeout into an isError result', async () => {
      const slow: Engine = Object.create(engine) as Engine;
      slow.query = () => new Promise(() => {});
      const server = createMcpServer({ engine: slow, timeoutMs: 50 });
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await connectMcpServer(server, serverSide);
      const client = new Client({ name: 'mcp-test', version: '1.0.0' });
      await client.connect(clientSide);
      try {
        const r = await client.callTool({
          name: 'query-docs',
          arguments: { libraryId: LIBRARY_ID, question: 'widgets' },
        });
        assert.equal(r.isError, true);
        assert.match(text(r), /timed out/);
      } finally {
        await client.close();
      }
    });

    it('cuts output over 25,000 tokens at a snippet boundary', () => {
      const snippet = (i: number) =>
        `### Snippet ${i}\n\nSource: https://example.com/${i}\n\n${'word '.repeat(1000)}`;
      const long = Array.from({ length: 40 }, (_, i) => snippet(i)).join(SNIPPET_SEPARATOR);
      assert.ok(countTokens(long) > MAX_OUTPUT_TOKENS);
      const cut = clampOutput(long);
      assert.ok(countTokens(cut) <= MAX_OUTPUT_TOKENS, `${countTokens(cut)} tokens`);
      const body = cut.replace(/\n\n\[Output cut[^\]]*\]$/, '');
      assert.notEqual(body, cut, 'says it was cut');
      for (const part of body.split(SNIPPET_SEPARATOR)) {
        assert.ok(long.includes(part) && part.endsWith('word '), 'whole snippets only');
      }
      assert.equal(clampOutput('short'), 'short');
    });
  });

  describe('over stdio with the CLI', () => {
    let dataDir: string;

    before(async function () {
      ensureBuilt();
      dataDir = join(tmp, 'cli-data');
      const out: string[] = [];
      const code = await main(
        ['add', join(tmp, 'docs'), '--id', LIBRARY_ID, '--name', 'WidgetKit'],
        {
          env: { TWINMCP_DATA_DIR: dataDir, TWINMCP_LOG_LEVEL: 'error' },
          stdout: { write: (t: string) => out.push(t) },
          stderr: { write: (t: string) => out.push(t) },
          cwd: tmp,
        },
      );
      assert.equal(code, 0, out.join(''));
    });

    let client: Client;
    before(async () => {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [CLI, 'mcp'],
        cwd: REPO_ROOT,
        env: {
          ...(process.env as Record<string, string>),
          TWINMCP_DATA_DIR: dataDir,
          TWINMCP_LOG_LEVEL: 'error',
          TWINMCP_PORT: '0',
        },
        stderr: 'pipe',
      });
      client = new Client({ name: 'mcp-test', version: '1.0.0' });
      await client.connect(transport);
    });

    after(() => client?.close());

    mcpClientSuite(() => client);

    it('became the owner of the data directory and gives it back when the agent leaves', async () => {
      // No server ran, so this stdio server became the owner: it holds the lock and listens,
      // and the CLI's other commands and later agents reach the same store over HTTP.
      const lock = JSON.parse(readFileSync(`${dataDir}.lock`, 'utf8')) as {
        command: string;
        port: number;
      };
      assert.equal(lock.command, 'mcp');
      assert.ok(lock.port > 0, 'the owner publishes its port');
      const health = (await (await fetch(`http://127.0.0.1:${lock.port}/health`)).json()) as {
        libraries: number;
      };
      assert.equal(health.libraries, 1);
      await client.close();
      // The agent went away: the owner stops and gives the data directory back.
      for (let i = 0; i < 50 && existsSync(`${dataDir}.lock`); i++) await sleep(100);
      assert.equal(existsSync(`${dataDir}.lock`), false, 'lock released when stdin ends');
    });
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
