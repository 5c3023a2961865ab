import assert from 'node:assert/strict';
import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { AddSourceBody, Job, LibrarySummary, SearchResult } from '../../shared/api.js';
import { loadConfig, type Config } from '../../server/config.js';
import type { Db } from '../../server/db/db.js';
import {
  EngineError,
  type AddSourceRequest,
  type CallContext,
  type Engine,
  type QueryOutcome,
} from '../../server/engine-types.js';
import { buildApp } from '../../server/http/app.js';

// A test double of our own Engine for the HTTP layer only; the engine has its own tests.
const LIBRARY: LibrarySummary = {
  id: '/fastify/fastify',
  title: 'Fastify',
  description: 'Fast web framework',
  totalSnippets: 10,
  totalTokens: 1234,
  trustScore: 8,
  versions: ['v5'],
  lastUpdateDate: '2025-01-01T00:00:00.000Z',
  state: 'ready',
};

function job(id: string, libraryId: string | null = '/fastify/fastify'): Job {
  return {
    id,
    kind: 'index',
    state: 'queued',
    libraryId,
    version: null,
    progress: null,
    error: null,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
  };
}

class FakeEngine implements Engine {
  readonly db = { dialect: 'pglite', hasVector: false } as unknown as Db;
  added: AddSourceRequest[] = [];
  removed: string[] = [];
  lastCtx: CallContext | undefined;
  failNext: Error | undefined;

  async resolve(
    libraryName: string,
    _query: string | undefined,
    ctx: CallContext,
  ): Promise<SearchResult[]> {
    this.lastCtx = ctx;
    this.throwIfFailing();
    return libraryName.toLowerCase().includes('fastify') ? [{ ...LIBRARY, score: 1 }] : [];
  }
  async query(libraryId: string, query: string, tokens: number | undefined): Promise<QueryOutcome> {
    if (libraryId !== '/fastify/fastify') {
      throw new EngineError('library_not_found', `Library ${libraryId} not found`, [
        '/fastify/fastify',
      ]);
    }
    return {
      text: `### Routes\n\nquery=${query} tokens=${tokens ?? 'default'}`,
      json: { libraryId, version: null, codeSnippets: [], infoSnippets: [], totalTokens: 0 },
    };
  }
  async listLibraries(): Promise<LibrarySummary[]> {
    return [LIBRARY];
  }
  async addSource(req: AddSourceRequest): Promise<Job> {
    this.added.push(req);
    return job('job-1', req.libraryId ?? null);
  }
  async getJob(id: string): Promise<Job | undefined> {
    return id === 'job-1' ? job('job-1') : undefined;
  }
  async waitForJob(id: string): Promise<Job> {
    return job(id);
  }
  async removeLibrary(libraryId: string): Promise<boolean> {
    this.removed.push(libraryId);
    return libraryId === '/fastify/fastify';
  }
  async close(): Promise<void> {}
  private throwIfFailing(): void {
    const err = this.failNext;
    this.failNext = undefined;
    if (err) throw err;
  }
}

const TOKEN = 'test-admin-token-0123456789';
const HOST = { host: '127.0.0.1:7377' };
const ADMIN = { ...HOST, authorization: `Bearer ${TOKEN}` };
const JSON_ADMIN = { ...ADMIN, 'content-type': 'application/json' };

describe('HTTP API', () => {
  let engine: FakeEngine;
  let app: FastifyInstance;
  const config: Config = loadConfig({ TWINMCP_DATA_DIR: '/tmp/twinmcp-http-test' });

  beforeEach(async () => {
    engine = new FakeEngine();
    app = await buildApp({ engine, config, adminToken: TOKEN });
  });
  afterEach(() => app.close());

  describe('happy paths', () => {
    it('GET /api/v1/libs/search resolves with a rest context', async () => {
      const res = await app.inject({
        url: '/api/v1/libs/search?libraryName=Fastify&query=routes',
        headers: HOST,
      });
      assert.equal(res.statusCode, 200);
      const body = res.json<{ results: SearchResult[] }>();
      assert.equal(body.results[0]?.id, '/fastify/fastify');
      assert.deepEqual(engine.lastCtx, { client: 'rest' });
    });

    it('GET /api/v1/context returns text by default and JSON on type=json', async () => {
      const text = await app.inject({
        url: '/api/v1/context?libraryId=/fastify/fastify&query=routes&tokens=2000',
        headers: HOST,
      });
      assert.equal(text.statusCode, 200);
      assert.match(String(text.headers['content-type']), /^text\/plain/);
      assert.equal(text.body, '### Routes\n\nquery=routes tokens=2000');

      const json = await app.inject({
        url: '/api/v1/context?libraryId=/fastify/fastify&query=routes&type=json',
        headers: HOST,
      });
      assert.equal(json.statusCode, 200);
      assert.equal(json.json<{ libraryId: string }>().libraryId, '/fastify/fastify');
    });

    it('GET /api/v1/libs lists libraries', async () => {
      const res = await app.inject({ url: '/api/v1/libs', headers: HOST });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { libraries: [LIBRARY] });
    });

    it('POST /api/v1/libs with a git URL and no token queues an untrusted job', async () => {
      const body: AddSourceBody = {
        source: 'https://github.com/fastify/fastify.git',
        libraryId: '/fastify/fastify',
      };
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/libs',
        headers: { ...HOST, 'content-type': 'application/json' },
        payload: body,
      });
      assert.equal(res.statusCode, 202);
      assert.equal(res.json<{ job: Job }>().job.id, 'job-1');
      assert.equal(engine.added[0]?.trustedLocal, false);
    });

    it('POST /api/v1/libs with a local path and the admin token is trusted', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/libs',
        headers: JSON_ADMIN,
        payload: { source: '/home/me/docs', name: 'My docs' },
      });
      assert.equal(res.statusCode, 202);
      assert.deepEqual(engine.added[0], {
        source: '/home/me/docs',
        name: 'My docs',
        trustedLocal: true,
      });
    });

    it('GET /api/v1/jobs/:id returns the job', async () => {
      const res = await app.inject({ url: '/api/v1/jobs/job-1', headers: HOST });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json<{ job: Job }>().job.state, 'queued');
    });

    it('DELETE /api/v1/libs removes with the admin token', async () => {
      const res = await app.inject({
        method: 'DELETE',
        url: '/api/v1/libs?libraryId=/fastify/fastify',
        headers: ADMIN,
      });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { removed: true });
      assert.deepEqual(engine.removed, ['/fastify/fastify']);
    });

    it('GET /health reports the engine', async () => {
      const res = await app.inject({ url: '/health', headers: HOST });
      assert.equal(res.statusCode, 200);
      const body = res.json<Record<string, unknown>>();
      assert.equal(body.status, 'ok');
      assert.equal(body.database, 'pglite');
      assert.equal(body.vector, false);
      assert.equal(body.embeddings, 'off');
      assert.equal(body.libraries, 1);
      assert.equal(typeof body.version, 'string');
    });
  });

  describe('errors', () => {
    it('400 validation_error names the missing field', async () => {
      const res = await app.inject({ url: '/api/v1/libs/search', headers: HOST });
      assert.equal(res.statusCode, 400);
      const body = res.json<{ error: string; message: string }>();
      assert.equal(body.error, 'validation_error');
      assert.match(body.message, /libraryName/);
    });

    it('400 validation_error for a bad body field and a non-numeric token budget', async () => {
      const post = await app.inject({
        method: 'POST',
        url: '/api/v1/libs',
        headers: JSON_ADMIN,
        payload: { source: '' },
      });
      assert.equal(post.statusCode, 400);
      assert.match(post.json<{ message: string }>().message, /source/);
      const get = await app.inject({
        url: '/api/v1/context?libraryId=/a/b&query=x&tokens=lots',
        headers: HOST,
      });
      assert.equal(get.statusCode, 400);
      assert.match(get.json<{ message: string }>().message, /tokens/);
    });

    it('400 invalid_library_id', async () => {
      const res = await app.inject({
        url: '/api/v1/context?libraryId=fastify&query=routes',
        headers: HOST,
      });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json<{ error: string }>().error, 'invalid_library_id');
      const del = await app.inject({
        method: 'DELETE',
        url: '/api/v1/libs?libraryId=nope',
        headers: ADMIN,
      });
      assert.equal(del.json<{ error: string }>().error, 'invalid_library_id');
    });

    it('404 library_not_found from the engine, with suggestions', async () => {
      const res = await app.inject({
        url: '/api/v1/context?libraryId=/x/y&query=routes',
        headers: HOST,
      });
      assert.equal(res.statusCode, 404);
      assert.deepEqual(res.json(), {
        error: 'library_not_found',
        message: 'Library /x/y not found',
        suggestions: ['/fastify/fastify'],
      });
    });

    it('404 for unknown jobs, libraries and routes', async () => {
      const jobRes = await app.inject({ url: '/api/v1/jobs/nope', headers: HOST });
      assert.equal(jobRes.statusCode, 404);
      assert.equal(jobRes.json<{ error: string }>().error, 'job_not_found');
      const del = await app.inject({
        method: 'DELETE',
        url: '/api/v1/libs?libraryId=/x/y',
        headers: ADMIN,
      });
      assert.equal(del.statusCode, 404);
      assert.equal(del.json<{ error: string }>().error, 'library_not_found');
      const route = await app.inject({ url: '/api/v1/nothing', headers: HOST });
      assert.equal(route.statusCode, 404);
      assert.equal(route.json<{ error: string }>().error, 'not_found');
    });

    it('415 for a write without application/json', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/libs',
        headers: { ...ADMIN, 'content-type': 'text/plain' },
        payload: JSON.stringify({ source: 'https://github.com/a/b' }),
      });
      assert.equal(res.statusCode, 415);
      assert.equal(res.json<{ error: string }>().error, 'unsupported_media_type');
      assert.equal(engine.added.length, 0);
    });

    it('413 for a body over the limit', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/libs',
        headers: JSON_ADMIN,
        payload: JSON.stringify({ source: 'x'.repeat(100_000) }),
      });
      assert.equal(res.statusCode, 413);
      assert.equal(res.json<{ error: string }>().error, 'payload_too_large');
    });

    it('400 for malformed JSON', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/libs',
        headers: JSON_ADMIN,
        payload: '{"source":',
      });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json<{ error: string }>().error, 'validation_error');
    });

    it('500 internal_error without internals', async () => {
      engine.failNext = new Error('connection to /secret/path refused');
      const res = await app.inject({
        url: '/api/v1/libs/search?libraryName=fastify',
        headers: HOST,
      });
      assert.equal(res.statusCode, 500);
      assert.deepEqual(res.json(), { error: 'internal_error', message: 'Internal server error' });
    });
  });

  describe('local safety', () => {
    it('403 for a Host that is not loopback (DNS rebinding)', async () => {
      // (inject() fills in an empty Host, so the missing-Host case is left to the socket test.)
      for (const host of ['evil.example:7377', 'localhost.:7377', '127.0.0.1@evil.example']) {
        const res = await app.inject({ url: '/health', headers: { host } });
        assert.equal(res.statusCode, 403, host);
        assert.equal(res.json<{ error: string }>().error, 'forbidden');
      }
    });

    it('accepts every loopback spelling', async () => {
      for (const host of ['127.0.0.1:7377', 'localhost:7377', '[::1]:7377', '127.1.2.3']) {
        const res = await app.inject({ url: '/health', headers: { host } });
        assert.equal(res.statusCode, 200, host);
      }
    });

    it('403 for a foreign Origin, even on unknown routes', async () => {
      for (const origin of [
        'https://evil.example',
        'null',
        'vscode-webview://abc',
        'http://localhost:3000',
      ]) {
        const res = await app.inject({ url: '/api/v1/libs', headers: { ...HOST, origin } });
        assert.equal(res.statusCode, 403, origin);
      }
      const unknown = await app.inject({
        url: '/nope',
        headers: { ...HOST, origin: 'https://evil.example' },
      });
      assert.equal(unknown.statusCode, 403);
    });

    it('accepts the same loopback origin and configured origins', async () => {
      const own = await app.inject({
        url: '/api/v1/libs',
        headers: { ...HOST, origin: 'http://localhost:7377' },
      });
      assert.equal(own.statusCode, 200);
      const configured = await buildApp({
        engine,
        config: { ...config, allowedOrigins: ['https://docs.example.com'] },
      });
      const res = await configured.inject({
        url: '/api/v1/libs',
        headers: { ...HOST, origin: 'https://docs.example.com' },
      });
      assert.equal(res.statusCode, 200);
      await configured.close();
    });

    it('403 for a local path without the admin token, or with a wrong one', async () => {
      for (const source of ['/etc', './docs', 'file:///etc', 'C:\\docs']) {
        const res = await app.inject({
          method: 'POST',
          url: '/api/v1/libs',
          headers: { ...HOST, 'content-type': 'application/json', authorization: 'Bearer wrong' },
          payload: { source },
        });
        assert.equal(res.statusCode, 403, source);
        assert.match(res.json<{ message: string }>().message, /CLI/);
      }
      assert.equal(engine.added.length, 0);
    });

    it('403 for DELETE without the admin token', async () => {
      const res = await app.inject({
        method: 'DELETE',
        url: '/api/v1/libs?libraryId=/fastify/fastify',
        headers: HOST,
      });
      assert.equal(res.statusCode, 403);
      assert.deepEqual(engine.removed, []);
    });

    it('off loopback, checks Host against TWINMCP_ALLOWED_HOSTS', async () => {
      const open = await buildApp({
        engine,
        config: { ...config, allowedHosts: ['docs.internal'] },
        boundHost: '0.0.0.0',
      });
      const ok = await open.inject({ url: '/health', headers: { host: 'docs.internal:7377' } });
      assert.equal(ok.statusCode, 200);
      const bad = await open.inject({ url: '/health', headers: { host: 'evil.example:7377' } });
      assert.equal(bad.statusCode, 403);
      await open.close();
    });
  });

  describe('through a real socket', () => {
    it('checks the real Host header and the listening port', async () => {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.server.address();
      assert.ok(address && typeof address === 'object');
      const base = `http://127.0.0.1:${address.port}`;

      const ok = await fetch(`${base}/health`);
      assert.equal(ok.status, 200);
      assert.equal(((await ok.json()) as { status: string }).status, 'ok');

      // fetch() will not let us forge Host, but the port still has to match the listening one.
      const byName = await fetch(`http://localhost:${address.port}/api/v1/libs`, {
        headers: { origin: `http://localhost:${address.port + 1}` },
      }).catch(() => undefined);
      if (byName) assert.equal(byName.status, 403);

      assert.equal(await rawStatus(address.port, 'attacker.example'), 403);
      assert.equal(await rawStatus(address.port, '127.0.0.1:1'), 403);
      assert.equal(await rawStatus(address.port, `localhost:${address.port}`), 200);
    });
  });
});

/** A request with a Host header of our choosing, which fetch() does not allow. */
function rawStatus(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/health', headers: { host } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
