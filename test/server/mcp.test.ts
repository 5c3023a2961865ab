/**
 * The MCP server through the SDK's real Client: over Streamable HTTP against the Fastify app on a
 * real socket, over stdio against the CLI, and in memory for timeouts. A small Markdown library is
 * indexed through the real engine first.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { LIBRARIES_RESOURCE_URI, WORKSPACE_DEPS_HEADER } from '../../shared/mcp.js';
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
import { REPO_ROOT } from '../helpers/corpus.js';

const LIBRARY_ID = '/acme/widgetkit';
const ACCEPT = 'application/json, text/event-stream';

/** A small library: enough pages and code for resolve and query to have something to rank. */
function writeDocs(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'README.md'),
    '# WidgetKit\n\nWidgetKit is a toolkit for building dashboard widgets in TypeScript.\n\n' +
      '## Installation\n\nInstall the package with npm.\n\n```bash\nnpm install widgetkit\n```\n',
  );
  writeFileSync(
    join(dir, 'widgets.md'),
    '# Widgets\n\n## Creating a widget\n\nCall `createWidget` with a name and a render function. ' +
      'The widget is registered on the dashboard.\n\n```ts\nimport { createWidget } from "widgetkit";\n\n' +
      'const clock = createWidget("clock", () => new Date().toISOString());\n```\n\n' +
      '## Refreshing a widget\n\nSet `refreshInterval` in milliseconds to re-render a widget periodically.\n\n' +
      '```ts\ncreateWidget("clock", render, { refreshInterval: 1000 });\n```\n',
  );
  writeFileSync(
    join(dir, 'themes.md'),
    '# Themes\n\nWidgets follow the dashboard theme. Use `setTheme("dark")` to switch the colour scheme.\n\n' +
      '```ts\nimport { setTheme } from "widgetkit";\nsetTheme("dark");\n```\n',
  );
}

function text(result: unknown): string {
  const content = (result as CallToolResult).content;
  return content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

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

    it('lists the three tools with descriptions, described fields and annotations', async () => {
      const { tools } = await client.listTools();
      const byName = new Map(tools.map((t) => [t.name, t]));
      assert.deepEqual(
        [...byName.keys()].sort(),
        ['get-library-docs', 'query-docs', 'resolve-library-id'].sort(),
      );
      for (const tool of tools) {
        assert.ok(tool.title, `${tool.name} has a title`);
        assert.ok((tool.description ?? '').length > 50, `${tool.name} has a description`);
        assert.equal(tool.annotations?.readOnlyHint, true);
        assert.equal(tool.annotations?.idempotentHint, true);
        assert.equal(tool.annotations?.openWorldHint, true);
        const props = tool.inputSchema.properties as Record<string, { description?: string }>;
        assert.ok(Object.keys(props).length >= 2, `${tool.name} lists its fields`);
        for (const [field, schema] of Object.entries(props)) {
          assert.ok(schema.description, `${tool.name}.${field} has a description`);
        }
      }
      const resolve = byName.get('resolve-library-id')!;
      assert.deepEqual(Object.keys(resolve.inputSchema.properties!).sort(), [
        'libraryName',
        'query',
      ]);
      assert.deepEqual(resolve.inputSchema.required, ['libraryName']);
      const query = byName.get('query-docs')!;
      assert.deepEqual(Object.keys(query.inputSchema.properties!).sort(), [
        'libraryId',
        'query',
        'tokens',
      ]);
      assert.deepEqual([...(query.inputSchema.required ?? [])].sort(), ['libraryId', 'query']);
      assert.match(byName.get('get-library-docs')!.description!, /deprecated.*query-docs/is);
      assert.deepEqual(
        Object.keys(byName.get('get-library-docs')!.inputSchema.properties!).sort(),
        ['context7CompatibleLibraryID', 'tokens', 'topic'],
      );
    });

    it('resolve-library-id answers in the Context7 layout with the indexed id', async () => {
      const result = await call('resolve-library-id', {
        libraryName: 'widgetkit',
        query: 'create a widget',
      });
      assert.notEqual(result.isError, true, text(result));
      const out = text(result);
      assert.match(out, /^Available Libraries:\n\n- Title: WidgetKit\n/);
      assert.ok(out.includes(`- Context7-compatible library ID: ${LIBRARY_ID}`), out);
      assert.match(out, /- Code Snippets: \d+/);
      assert.match(out, /- Source Reputation: (High|Medium|Low)/);
    });

    it('query-docs returns ### snippets with Source lines', async () => {
      const result = await call('query-docs', {
        libraryId: LIBRARY_ID,
        query: 'how do I create a widget',
      });
      assert.notEqual(result.isError, true, text(result));
      const out = text(result);
      assert.match(out, /^### /m);
      assert.match(out, /^Source: \S+/m);
      assert.ok(out.includes('createWidget'), out);
    });

    it('passes the workspace header and the mcp client to the engine', async () => {
      contexts.length = 0;
      await call('query-docs', { libraryId: LIBRARY_ID, query: 'refresh interval' });
      assert.deepEqual(contexts.at(-1), { client: 'mcp', workspaceDeps: { widgetkit: '^2.1.0' } });
    });

    it('maps argument aliases before validation', async () => {
      const viaAliases = await call('query-docs', {
        context7CompatibleLibraryID: LIBRARY_ID,
        userQuery: 'switch to the dark theme',
      });
      assert.notEqual(viaAliases.isError, true, text(viaAliases));
      assert.ok(text(viaAliases).includes('setTheme'), text(viaAliases));

      for (const args of [
        { libraryID: LIBRARY_ID, question: 'dark theme' },
        { library_id: LIBRARY_ID, topic: 'dark theme' },
        { libraryName: LIBRARY_ID, query: 'dark theme' },
      ]) {
        const r = await call('query-docs', args);
        assert.notEqual(r.isError, true, `${JSON.stringify(args)}: ${text(r)}`);
      }
      const resolved = await call('resolve-library-id', {
        libraryName: 'widgetkit',
        userQuery: 'widgets',
      });
      assert.notEqual(resolved.isError, true, text(resolved));
    });

    it('keeps the deprecated get-library-docs working', async () => {
      const r = await call('get-library-docs', {
        context7CompatibleLibraryID: LIBRARY_ID,
        topic: 'create a widget',
        tokens: 2000,
      });
      assert.notEqual(r.isError, true, text(r));
      assert.match(text(r), /^### /m);
      const noTopic = await call('get-library-docs', { context7CompatibleLibraryID: LIBRARY_ID });
      assert.notEqual(noTopic.isError, true, text(noTopic));
    });

    it('accepts numeric strings and raises small token budgets instead of refusing', async () => {
      for (const tokens of ['3000', 10, 999_999]) {
        const r = await call('query-docs', { libraryId: LIBRARY_ID, query: 'widgets', tokens });
        assert.notEqual(r.isError, true, `${tokens}: ${text(r)}`);
      }
    });

    it('answers wrong arguments with isError results naming the field', async () => {
      const badTokens = await call('query-docs', {
        libraryId: LIBRARY_ID,
        query: 'widgets',
        tokens: 'abc',
      });
      assert.equal(badTokens.isError, true);
      assert.match(text(badTokens), /tokens/);
      assert.match(text(badTokens), /number/);

      const noId = await call('query-docs', { query: 'widgets' });
      assert.equal(noId.isError, true);
      assert.match(text(noId), /libraryId/);
      assert.match(text(noId), /required/);

      const tooLong = await call('resolve-library-id', { libraryName: 'x'.repeat(501) });
      assert.equal(tooLong.isError, true);
      assert.match(text(tooLong), /libraryName/);
      assert.match(text(tooLong), /500/);
    });

    it('answers an unknown library with the closest ones and resolve-library-id', async () => {
      const r = await call('query-docs', { libraryId: '/acme/widgetkits', query: 'widgets' });
      assert.equal(r.isError, true);
      assert.ok(text(r).includes(LIBRARY_ID), text(r));
      assert.match(text(r), /resolve-library-id/);

      const invalid = await call('query-docs', { libraryId: 'widgetkit', query: 'widgets' });
      assert.equal(invalid.isError, true);
      assert.match(text(invalid), /resolve-library-id/);
    });

    it('answers no matching snippets with a hint to use other words', async () => {
      const r = await call('query-docs', {
        libraryId: LIBRARY_ID,
        query: 'zzqx quantum blockchain kubernetes',
      });
      // Retrieval may still find a weak match; when it does not, the error must be actionable.
      if (r.isError) assert.match(text(r), /other words/i);
    });

    it('keeps serving after errors', async () => {
      const r = await call('query-docs', { libraryId: LIBRARY_ID, query: 'create a widget' });
      assert.notEqual(r.isError, true, text(r));
      assert.match(text(r), /^### /m);
    });

    it('serves the library list as a resource', async () => {
      const { resources } = await client.listResources();
      assert.ok(resources.some((r) => r.uri === LIBRARIES_RESOURCE_URI));
      const read = await client.readResource({ uri: LIBRARIES_RESOURCE_URI });
      const first = read.contents[0];
      assert.ok(first && 'text' in first);
      const body = JSON.parse(first.text) as { libraries: { id: string }[] };
      assert.ok(body.libraries.some((l) => l.id === LIBRARY_ID));
    });

    it('reports an unknown tool as an isError result', async () => {
      const r = await call('no-such-tool', {});
      assert.equal(r.isError, true);
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

    it('lists the tools and answers query-docs', async () => {
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
      const client = new Client({ name: 'mcp-test', version: '1.0.0' });
      await client.connect(transport);
      try {
        const { tools } = await client.listTools();
        assert.equal(tools.length, 3);
        const r = await client.callTool({
          name: 'query-docs',
          arguments: { libraryId: LIBRARY_ID, query: 'create a widget' },
        });
        assert.notEqual(r.isError, true, text(r));
        assert.match(text(r), /^Source: /m);
        const resolved = await client.callTool({
          name: 'resolve-library-id',
          arguments: { libraryName: 'widgetkit' },
        });
        assert.ok(text(resolved).includes(LIBRARY_ID), text(resolved));
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
      } finally {
        await client.close();
      }
      // The agent went away: the owner stops and gives the data directory back.
      for (let i = 0; i < 50 && existsSync(`${dataDir}.lock`); i++) await sleep(100);
      assert.equal(existsSync(`${dataDir}.lock`), false, 'lock released when stdin ends');
    });
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
