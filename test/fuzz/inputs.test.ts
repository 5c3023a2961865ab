/**
 * Property-based fuzzing of what clients send: REST query strings and bodies (app.inject against
 * a built app over a real engine with a small indexed library), JSON-RPC bodies to POST /mcp, and
 * tool arguments through the MCP SDK client over an in-memory transport. Every answer must be a
 * status below 500 with a JSON `{error, message}` body for errors, or an isError tool result;
 * never a crash, a 500, or a hang.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { loadConfig } from '../../server/config.js';
import type { Db } from '../../server/db/db.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { buildApp } from '../../server/http/app.js';
import { connectMcpServer, createMcpServer } from '../../server/mcp/server.js';
import { openTestPglite } from '../helpers/backends.js';
import { fuzzParams, fuzzRuns } from './fuzz-helpers.js';

// CI defaults: an inject round trip costs ~2-5 ms (~10 ms when it reaches a PGlite query), so
// 200 cases per property keep this file near 25 s; `npm run fuzz` runs 10,000 each.
const RUNS = fuzzRuns(200);
// A case that has not answered in 5 s is a hang: queries here answer in ~10 ms.
const CASE_TIMEOUT_MS = 5_000;

const LIB = '/fuzz/widgets';
const PAGES: Record<string, string> = {
  'index.md':
    '# Widgets\n\nWidgets render `createWidget()` output.\n\n## Install\n\n```sh\nnpm i widgets\n```\n',
  'guide/hooks.md': '# Hooks\n\nUse `onMount` and `useWidgetState` before the first render.\n',
  'api.md':
    '# API\n\n## createWidget(options)\n\nReturns a widget.\n\n```ts\nconst w = createWidget({ size: 2 });\n```\n',
};

function withTimeout<T>(promise: Promise<T>, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer in ${CASE_TIMEOUT_MS} ms: ${what()}`)),
        CASE_TIMEOUT_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Strings a client might send: arbitrary text, ids, numbers, encodings, injection attempts. */
const value = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(LIB, `${LIB}/v1`, '/fuzz', 'widgets', '', ' ', '%', '%zz', '%00', '\u0000'),
  fc.constantFrom("' OR 1=1 --", '../../etc/passwd', 'file:///etc', 'http://127.0.0.1:1/x'),
  fc.integer().map(String),
  fc.constantFrom('1e309', '-1', '0', '99999999999999999999', 'NaN', 'true', '[]', '{}'),
);

function assertJsonError(
  status: number,
  contentType: string | undefined,
  body: string,
  what: string,
) {
  assert.ok(status < 500, `status ${status} for ${what}: ${body.slice(0, 300)}`);
  if (status >= 400) {
    assert.match(contentType ?? '', /application\/json/, `${what}: ${contentType}`);
    const parsed = JSON.parse(body) as { error?: unknown; message?: unknown };
    assert.equal(typeof parsed.error, 'string', `${what}: ${body.slice(0, 300)}`);
    assert.equal(typeof parsed.message, 'string', `${what}: ${body.slice(0, 300)}`);
  }
}

describe('fuzz: REST and MCP inputs', function () {
  this.timeout(600_000);
  let tmp: string;
  let db: Db;
  let engine: TwinEngine;
  let app: FastifyInstance;

  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-fuzz-'));
    const docs = join(tmp, 'docs');
    for (const [path, text] of Object.entries(PAGES)) {
      mkdirSync(join(docs, path, '..'), { recursive: true });
      writeFileSync(join(docs, path), text);
    }
    db = await openTestPglite();
    const indexer = await createEngine({ config: { dataDir: join(tmp, 'data') }, db });
    const job = await indexer.addSource({ source: docs, libraryId: LIB, trustedLocal: true });
    const done = await indexer.waitForJob(job.id);
    await indexer.close();
    assert.equal(done.state, 'succeeded', done.error ?? '');
    // No job runner: a fuzzed POST /libs that queues a job must not start fetching anything.
    engine = await createEngine({ config: { dataDir: join(tmp, 'data') }, db, worker: false });
    app = await buildApp({ engine, config: loadConfig({ TWINMCP_DATA_DIR: join(tmp, 'data') }) });
  });

  after(async () => {
    await app?.close();
    await engine?.close();
    await db?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it(`GET /api/v1/libs/search with any query string (${RUNS} cases)`, async () => {
    const params = fc.dictionary(
      fc.oneof(
        fc.constantFrom('libraryName', 'query', 'libraryName[]'),
        fc.string({ maxLength: 8 }),
      ),
      fc.oneof(value, fc.array(value, { maxLength: 3 })),
      { maxKeys: 4 },
    );
    await fc.assert(
      fc.asyncProperty(params, async (query) => {
        const what = () => `search ${JSON.stringify(query)}`;
        const res = await withTimeout(
          app.inject({ method: 'GET', url: '/api/v1/libs/search', query }),
          what,
        );
        assertJsonError(res.statusCode, res.headers['content-type'] as string, res.body, what());
      }),
      fuzzParams(RUNS),
    );
  });

  it(`GET /api/v1/context with any parameters, and raw URLs (${RUNS} cases)`, async () => {
    const params = fc.record(
      {
        libraryId: fc.oneof(
          fc.constantFrom(LIB, `${LIB}/v1`, `${LIB}@latest`, LIB.toUpperCase()),
          value,
        ),
        query: fc.oneof(fc.constantFrom('createWidget options', 'hooks before render'), value),
        tokens: value,
        type: fc.oneof(value, fc.constantFrom('txt', 'json')),
      },
      { requiredKeys: [] },
    );
    const rawUrl = fc
      .string({ unit: 'binary-ascii', maxLength: 60 })
      .map((s) => `/api/v1/context?${s.replace(/[\s#]/g, '')}`);
    await fc.assert(
      fc.asyncProperty(fc.oneof(params, rawUrl), async (input) => {
        const what = () => `context ${JSON.stringify(input)}`;
        const res = await withTimeout(
          typeof input === 'string'
            ? app.inject({ method: 'GET', url: input })
            : app.inject({
                method: 'GET',
                url: '/api/v1/context',
                query: input as Record<string, string>,
              }),
          what,
        );
        assertJsonError(res.statusCode, res.headers['content-type'] as string, res.body, what());
      }),
      fuzzParams(RUNS),
    );
  });

  it(`POST /api/v1/libs with any body and content type (${RUNS} cases)`, async () => {
    const body = fc.oneof(
      fc
        .record(
          {
            source: value,
            name: value,
            libraryId: value,
            version: value,
            latest: fc.oneof(fc.boolean(), value),
            ref: value,
            kind: fc.oneof(fc.constantFrom('git', 'web'), value),
            public: fc.boolean(),
          },
          { requiredKeys: [] },
        )
        .map((o) => JSON.stringify(o)),
      fc.json({ maxDepth: 3 }),
      fc.string({ maxLength: 100 }),
    );
    const contentType = fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    );
    await fc.assert(
      fc.asyncProperty(body, contentType, async (payload, type) => {
        const what = () => `POST /libs ${type} ${payload.slice(0, 200)}`;
        const res = await withTimeout(
          app.inject({
            method: 'POST',
            url: '/api/v1/libs',
            headers: { 'content-type': type },
            payload,
          }),
          what,
        );
        assertJsonError(res.statusCode, res.headers['content-type'] as string, res.body, what());
      }),
      fuzzParams(RUNS),
    );
  });

  it(`POST /mcp with any JSON-RPC body (${RUNS} cases)`, async () => {
    const message = fc.record(
      {
        jsonrpc: fc.oneof(fc.constant('2.0'), fc.jsonValue()),
        id: fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.constant(null), fc.jsonValue()),
        method: fc.oneof(
          fc.constantFrom(
            'initialize',
            'tools/list',
            'tools/call',
            'resources/list',
            'resources/read',
            'ping',
            'notifications/initialized',
          ),
          fc.string({ maxLength: 15 }),
        ),
        params: fc.oneof(
          fc.record({
            name: fc.oneof(
              fc.constantFrom('resolve-library-id', 'query-docs', 'get-library-docs'),
              fc.string({ maxLength: 10 }),
            ),
            arguments: fc.oneof(
              fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 })),
              fc.jsonValue({ maxDepth: 2 }),
            ),
          }),
          fc.record({ uri: value }),
          fc.jsonValue({ maxDepth: 2 }),
        ),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      { weight: 5, arbitrary: message.map((m) => JSON.stringify(m)) },
      { weight: 1, arbitrary: fc.array(message, { maxLength: 3 }).map((m) => JSON.stringify(m)) },
      { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
    );
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const what = () => `POST /mcp ${payload.slice(0, 300)}`;
        const res = await withTimeout(
          app.inject({
            method: 'POST',
            url: '/mcp',
            headers: {
              'content-type': 'application/json',
              accept: 'application/json, text/event-stream',
            },
            payload,
          }),
          what,
        );
        assert.ok(
          res.statusCode < 500,
          `${res.statusCode} for ${what()}: ${res.body.slice(0, 300)}`,
        );
        // Notifications alone get 202 with no body; everything else answers in JSON-RPC.
        if (res.body.length > 0) JSON.parse(res.body);
      }),
      fuzzParams(RUNS),
    );
  });

  it(`MCP tool arguments through the SDK client (${RUNS} cases)`, async () => {
    const server = createMcpServer({ engine, timeoutMs: CASE_TIMEOUT_MS - 1000 });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await connectMcpServer(server, serverSide);
    const client = new Client({ name: 'fuzz', version: '1.0.0' });
    await client.connect(clientSide);
    const args = fc.dictionary(
      fc.oneof(
        fc.constantFrom(
          'libraryName',
          'query',
          'libraryId',
          'question',
          'topic',
          'tokens',
          'context7CompatibleLibraryID',
        ),
        fc.string({ maxLength: 10 }),
      ),
      fc.oneof(
        value,
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.jsonValue({ maxDepth: 2 }),
      ),
      { maxKeys: 4 },
    );
    const name = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.constantFrom('resolve-library-id', 'query-docs', 'get-library-docs'),
      },
      { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
    );
    try {
      await fc.assert(
        fc.asyncProperty(name, args, async (tool, a) => {
          const what = () => `${tool} ${JSON.stringify(a)}`;
          try {
            const result = await withTimeout(client.callTool({ name: tool, arguments: a }), what);
            assert.ok(Array.isArray(result.content), what());
          } catch (err) {
            // Protocol-level refusals (unknown tool, invalid params) are answers, not crashes.
            if (!(err instanceof McpError)) throw err;
            assert.ok(err.code < 0 && err.code !== -32603, `${err.code} ${err.message}: ${what()}`);
          }
        }),
        fuzzParams(RUNS),
      );
    } finally {
      await client.close();
    }
  });
});
