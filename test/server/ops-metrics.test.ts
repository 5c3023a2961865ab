import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FastifyInstance } from 'fastify';
import { createAccount } from '../../server/accounts/accounts.js';
import { createApiKey } from '../../server/accounts/keys.js';
import { loadConfig } from '../../server/config.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { buildApp } from '../../server/http/app.js';
import { observeDb } from '../../server/ops/observe.js';
import { describeBackends, openTestPglite, selectedBackends } from '../helpers/backends.js';
import { FakeEmbeddingsServer, fakeConfig } from '../helpers/fake-openai-embeddings.js';

const ADMIN_TOKEN = 'local-admin-token-for-ops-tests';
const METRICS_TOKEN = 'scrape-token-0123456789abcdef';

/** The value of one sample line (`name{labels} value`) in a scrape, or undefined. */
function sample(
  body: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of body.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

function writeDocs(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'README.md'),
    '# Gizmo\n\nGizmo renders widgets. Call `gizmo.render()` to draw one.\n\n## Retry\n\n' +
      'Set `retries: 3` to retry a failed render.\n',
  );
}

// The PGlite template is built once per run (~3.5 s alone, over 100 s on a machine shared by many
// suites): warm it here, with room, rather than inside describeBackends' 120 s hook.
before(async function () {
  this.timeout(600_000);
  if (selectedBackends().includes('pglite')) await (await openTestPglite()).close();
});

describeBackends('operations: /metrics, request ids, redaction', ({ db }) => {
  let tmp: string;
  let engine: TwinEngine;
  let app: FastifyInstance;
  let other: FastifyInstance;
  let embeddings: FakeEmbeddingsServer;
  let base: string;
  const logLines: string[] = [];
  let host: string;
  // The listening app checks the Host header against its bound address and port.
  const call = (opts: string | { url: string; headers?: Record<string, string> }) => {
    const o = typeof opts === 'string' ? { url: opts } : opts;
    return app.inject({ ...o, headers: { host, ...o.headers } });
  };

  before(async function () {
    // Indexing starts the chunk workers (~1 s each alone); on a loaded CI machine far more.
    this.timeout(400_000);
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-ops-metrics-'));
    embeddings = await FakeEmbeddingsServer.start();
    engine = await createEngine({
      config: { dataDir: join(tmp, 'data'), embeddings: fakeConfig(embeddings.url) },
      db: observeDb(db()),
      worker: true,
    });
    writeDocs(join(tmp, 'docs'));
    const job = await engine.addSource({
      source: join(tmp, 'docs'),
      libraryId: '/acme/gizmo',
      name: 'Gizmo',
      trustedLocal: true,
    });
    const done = await engine.waitForJob(job.id);
    assert.equal(done.state, 'succeeded', done.error ?? '');
    const env = { TWINMCP_DATA_DIR: join(tmp, 'data'), TWINMCP_LOG_LEVEL: 'info' };
    const logStream = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    app = await buildApp({ engine, config: loadConfig(env), adminToken: ADMIN_TOKEN, logStream });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
    host = `127.0.0.1:${address.port}`;
    other = await buildApp({ engine, config: loadConfig(env) });
  });

  after(async () => {
    await app?.close();
    await other?.close();
    await engine?.close();
    await embeddings?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('counts requests per route pattern, method and status class, per app', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await call('/health')).statusCode, 200);
    await call('/api/v1/jobs/not-a-job');
    await call('/no/such/path/' + 'x'.repeat(20));
    const body = (await call('/metrics')).body;
    const health = { method: 'GET', route: '/health', status_class: '2xx' };
    assert.equal(sample(body, 'twinmcp_http_requests_total', health), 3);
    assert.equal(sample(body, 'twinmcp_http_request_duration_seconds_count', health), 3);
    assert.equal(
      sample(body, 'twinmcp_http_requests_total', {
        route: '/api/v1/jobs/:id',
        status_class: '4xx',
      }),
      1,
    );
    // A path nobody routes is one series, whatever the path.
    assert.equal(sample(body, 'twinmcp_http_requests_total', { route: 'unmatched' }), 1);
    assert.ok(!body.includes('/no/such/path'), 'raw paths must not become labels');
    // The second app has its own registry: it saw none of these.
    const otherBody = (await other.inject('/metrics')).body;
    assert.equal(sample(otherBody, 'twinmcp_http_requests_total', health), undefined);
  });

  it('reports jobs by state, queue depth, database statements and process metrics', async () => {
    const body = (await call('/metrics')).body;
    assert.equal(sample(body, 'twinmcp_jobs', { state: 'succeeded' }), 1);
    assert.equal(sample(body, 'twinmcp_jobs', { state: 'queued' }), 0);
    assert.equal(sample(body, 'twinmcp_job_queue_depth'), 0);
    const statements = (b: string) =>
      sample(b, 'twinmcp_db_statement_duration_seconds_count', { op: 'query', outcome: 'ok' }) ?? 0;
    // Listing libraries runs queries on this engine's database: the count moves.
    assert.equal((await call('/api/v1/libs')).statusCode, 200);
    const after = (await call('/metrics')).body;
    assert.ok(
      statements(after) > statements(body),
      `db statements: ${statements(body)} -> ${statements(after)}`,
    );
    assert.ok(sample(body, 'twinmcp_db_pool_size')! >= 1);
    assert.ok(sample(body, 'process_cpu_user_seconds_total') !== undefined);
    assert.ok(sample(body, 'nodejs_eventloop_lag_seconds') !== undefined);
    assert.match(
      (await call('/metrics')).headers['content-type'] as string,
      /^text\/plain; version=0\.0\.4/,
    );
  });

  it('counts MCP tool calls per tool and outcome, over a real socket', async () => {
    const client = new Client({ name: 'ops-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
    try {
      await client.callTool({
        name: 'resolve-library-id',
        arguments: { libraryName: 'gizmo', query: 'render' },
      });
      await client.callTool({
        name: 'query-docs',
        arguments: { libraryId: '/acme/gizmo', query: 'retry a render' },
      });
      await client.callTool({
        name: 'query-docs',
        arguments: { libraryId: '/acme/nothing-here', query: 'retry' },
      });
    } finally {
      await client.close();
    }
    const body = await (await fetch(`${base}/metrics`)).text();
    const calls = (tool: string, outcome: string) =>
      sample(body, 'twinmcp_mcp_tool_calls_total', { tool, outcome });
    assert.equal(calls('resolve-library-id', 'ok'), 1);
    assert.equal(calls('query-docs', 'ok'), 1);
    assert.equal(calls('query-docs', 'error'), 1);
    assert.equal(
      sample(body, 'twinmcp_mcp_tool_duration_seconds_count', { tool: 'query-docs' }),
      2,
    );
    // The MCP route answers on the raw socket (hijacked); it is still timed per route.
    assert.ok(sample(body, 'twinmcp_http_requests_total', { route: '/mcp', method: 'POST' })! >= 3);
  });

  it('counts provider calls and their errors', async () => {
    const provider = engine.embeddings!.provider;
    const before = await call('/metrics');
    const okBefore =
      sample(before.body, 'twinmcp_provider_calls_total', {
        kind: 'embeddings',
        provider: 'openai-compatible',
        outcome: 'ok',
      }) ?? 0;
    await provider.embed(['how to retry a render']);
    embeddings.failNext(3, { status: 500 });
    await assert.rejects(provider.embed(['this one fails'], { maxRetries: 0, retryBaseMs: 1 }));
    const body = (await call('/metrics')).body;
    const labels = { kind: 'embeddings', provider: 'openai-compatible' };
    assert.equal(
      sample(body, 'twinmcp_provider_calls_total', { ...labels, outcome: 'ok' }),
      okBefore + 1,
    );
    assert.equal(sample(body, 'twinmcp_provider_calls_total', { ...labels, outcome: 'error' }), 1);
    assert.ok(sample(body, 'twinmcp_provider_call_duration_seconds_count', labels)! >= 2);
  });

  it('keeps an incoming x-request-id, echoes it, and makes one otherwise', async () => {
    const kept = await call({ url: '/health', headers: { 'x-request-id': 'lb-abc.123' } });
    assert.equal(kept.headers['x-request-id'], 'lb-abc.123');
    const made = await call({ url: '/health' });
    assert.match(String(made.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    // An id that could forge log fields is replaced, not echoed.
    const forged = await call({ url: '/health', headers: { 'x-request-id': 'a"b\\nc d' } });
    assert.match(String(forged.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    // Rejected requests carry their id too (the safety check runs after the id is set).
    const rejected = await call({
      url: '/health',
      headers: { host: 'evil.example', 'x-request-id': 'rejected-1' },
    });
    assert.equal(rejected.statusCode, 403);
    assert.equal(rejected.headers['x-request-id'], 'rejected-1');
    assert.ok(logLines.some((l) => l.includes('"reqId":"lb-abc.123"')));
  });

  it('never writes keys, cookies or tokens to the request log', async () => {
    const secrets = {
      bearer: 'tmcp_' + 'S'.repeat(43),
      apiKey: 'tmcp_' + 'K'.repeat(43),
      cookie: 'twinmcp_session=sessionsecret123',
      token: 'devicetokensecret456',
    };
    logLines.length = 0;
    await call({
      url: `/api/v1/libs/search?libraryName=gizmo&token=${secrets.token}`,
      headers: {
        authorization: `Bearer ${secrets.bearer}`,
        'x-api-key': secrets.apiKey,
        cookie: secrets.cookie,
        'x-request-id': 'redaction-test',
      },
    });
    const mine = logLines.filter((l) => l.includes('redaction-test'));
    assert.ok(mine.length >= 2, `expected the request and response lines:\n${logLines.join('\n')}`);
    const text = mine.join('\n');
    for (const [what, secret] of Object.entries(secrets)) {
      assert.ok(!text.includes(secret), `${what} leaked into the log:\n${text}`);
    }
    assert.ok(text.includes('[redacted]'), 'the headers are logged, redacted');
    assert.ok(text.includes('libraryName=gizmo'), 'harmless query parameters stay');
  });
});

describeBackends('operations: /metrics access with auth on', ({ db }) => {
  let tmp: string;
  let engine: TwinEngine;
  let app: FastifyInstance;
  let userKey: string;
  let adminKey: string;

  before(async function () {
    this.timeout(120_000);
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-ops-auth-'));
    engine = await createEngine({
      config: { dataDir: join(tmp, 'data') },
      db: db(),
      worker: false,
    });
    const user = await createAccount(db(), { email: 'user@example.com' });
    const ops = await createAccount(db(), { email: 'ops@example.com', isAdmin: true });
    userKey = (await createApiKey(db(), user.id, { name: 'laptop' })).key;
    adminKey = (await createApiKey(db(), ops.id, { name: 'ops', admin: true })).key;
    const config = loadConfig({
      TWINMCP_DATA_DIR: join(tmp, 'data'),
      TWINMCP_LOG_LEVEL: 'silent',
      TWINMCP_AUTH: 'on',
      TWINMCP_METRICS_TOKEN: METRICS_TOKEN,
    });
    app = await buildApp({ engine, config, adminToken: ADMIN_TOKEN });
  });
  after(async () => {
    await app?.close();
    await engine?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const scrape = (authorization?: string) =>
    app.inject({ url: '/metrics', ...(authorization ? { headers: { authorization } } : {}) });

  it('needs an admin key, the metrics token or the local admin token', async () => {
    assert.equal((await scrape()).statusCode, 401);
    assert.equal((await scrape('Bearer not-the-token')).statusCode, 401);
    assert.equal((await scrape(`Bearer ${'tmcp_' + 'x'.repeat(43)}`)).statusCode, 401);
    const user = await scrape(`Bearer ${userKey}`);
    assert.equal(user.statusCode, 403);
    assert.equal(user.json().error, 'forbidden');
    for (const ok of [adminKey, METRICS_TOKEN, ADMIN_TOKEN]) {
      const res = await scrape(`Bearer ${ok}`);
      assert.equal(res.statusCode, 200, res.body);
      assert.match(res.body, /twinmcp_http_requests_total/);
    }
  });

  it('leaves /health and /ready open to load balancers', async () => {
    assert.equal((await app.inject('/health')).statusCode, 200);
    const ready = await app.inject('/ready');
    assert.equal(ready.statusCode, 200, ready.body);
    assert.deepEqual(ready.json(), { ready: true });
  });

  it('rejects a short metrics token at start, naming the variable', () => {
    assert.throws(
      () => loadConfig({ TWINMCP_METRICS_TOKEN: 'short' }),
      /TWINMCP_METRICS_TOKEN: must be at least 16 characters/,
    );
  });
});
