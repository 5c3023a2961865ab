/**
 * Chat failure paths on both back ends, through a real socket and the OpenAI SDK against the fake:
 * cancel mid-stream (WebSocket message, SSE disconnect), provider errors and stalls with short
 * configured timeouts, malformed, binary and oversized frames, busy sockets, Host/Origin checks on
 * the upgrade. After each failure the same socket answers the next question.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { WebSocket } from 'ws';
import { MAX_CHAT_FRAME_BYTES, type ServerEvent } from '../../shared/chat.js';
import { runChat } from '../../server/chat/core.js';
import { createProvider } from '../../server/chat/providers/create.js';
import { loadConfig, type Config } from '../../server/config.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { buildApp } from '../../server/http/app.js';
import { describeBackends } from '../helpers/backends.js';
import {
  ChatSocket,
  FAKE_API_KEY,
  postChat,
  startFakeLlm,
  type FakeLlm,
} from '../helpers/fake-llm.js';

const QUESTION = 'kit: how do I create a widget?';

function types(events: ServerEvent[]): string[] {
  return events.map((e) => (e.type === 'error' ? `error:${e.code}` : e.type));
}

/** Asks on `socket` and expects a complete answer: the socket still works. */
async function answersNext(socket: ChatSocket, fake: FakeLlm, id: string): Promise<void> {
  fake.respond = () => ({ kind: 'answer', chunks: ['Call ', 'widgetNew() [1].'] });
  const events = await socket.ask({ id, text: QUESTION });
  assert.deepEqual(types(events), ['retrieval', 'delta', 'delta', 'citations', 'done']);
}

async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.address() as AddressInfo).port;
}

describeBackends('Chat failures', ({ db }) => {
  describe('with a small library and a fake OpenAI', function () {
    let engine: TwinEngine;
    let tmp: string;
    let fake: FakeLlm;
    let app: FastifyInstance;
    let port: number;
    let stallApp: FastifyInstance;
    let stallPort: number;
    let config: Config;

    before(async function () {
      this.timeout(120_000);
      tmp = mkdtempSync(join(tmpdir(), 'twinmcp-chat-fail-'));
      engine = await createEngine({ config: { dataDir: join(tmp, 'data') }, db: db() });
      const dir = join(tmp, 'kit');
      mkdirSync(dir);
      writeFileSync(
        join(dir, 'index.md'),
        '# Kit\n\nInstall with `npm install kit`.\n\n## Creating widgets\n\nCall `widgetNew()` to create a widget.\n',
      );
      const job = await engine.addSource({
        source: dir,
        libraryId: '/acme/kit',
        trustedLocal: true,
      });
      assert.equal((await engine.waitForJob(job.id)).state, 'succeeded');
      fake = await startFakeLlm('openai');
      const env = {
        TWINMCP_DATA_DIR: join(tmp, 'data'),
        TWINMCP_CHAT_PROVIDER: 'openai-compatible',
        TWINMCP_CHAT_MODEL: 'local-fake',
        TWINMCP_CHAT_BASE_URL: fake.baseUrl,
        OPENAI_API_KEY: FAKE_API_KEY,
        TWINMCP_CHAT_MAX_RETRIES: '0',
      };
      config = loadConfig(env);
      app = await buildApp({ engine, config });
      port = await listen(app);
      // Short, so that a stall is seen soon; long enough for a loaded machine's first token.
      stallApp = await buildApp({
        engine,
        config: loadConfig({ ...env, TWINMCP_CHAT_IDLE_TIMEOUT_MS: '1000' }),
      });
      stallPort = await listen(stallApp);
    });

    after(async () => {
      await app?.close();
      await stallApp?.close();
      await fake?.close();
      await engine?.close();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    it('the core yields no delta once cancelled, and the provider stream is closed', async () => {
      fake.respond = () => ({ kind: 'drip', chunk: 'word ', everyMs: 5 });
      const call = fake.nextCall();
      const controller = new AbortController();
      const deps = {
        engine,
        provider: createProvider(config.chat),
        config: config.chat,
        db: db(),
        owner: null,
      };
      const seen: string[] = [];
      for await (const event of runChat(deps, { id: 'c0', text: QUESTION }, controller.signal)) {
        seen.push(event.type === 'error' ? `error:${event.code}` : event.type);
        if (event.type === 'delta') controller.abort();
      }
      assert.deepEqual(seen, ['retrieval', 'delta', 'error:cancelled']);
      assert.equal((await (await call).closed).aborted, true);
    });

    it('cancel by message ends the question, closes the provider stream, and the socket goes on', async () => {
      fake.respond = () => ({ kind: 'drip', chunk: 'word ', everyMs: 5 });
      const call = fake.nextCall();
      const socket = await ChatSocket.open(port);
      try {
        socket.send({ type: 'ask', id: 'c1', text: QUESTION });
        assert.equal((await socket.next()).type, 'retrieval');
        assert.equal((await socket.next()).type, 'delta');
        socket.send({ type: 'cancel', id: 'c1' });
        const rest = await socket.untilEnd('c1');
        assert.deepEqual(types(rest).at(-1), 'error:cancelled');
        assert.ok(
          rest.slice(0, -1).every((e) => e.type === 'delta'),
          types(rest).join(),
        );
        assert.equal((await (await call).closed).aborted, true, 'the fake saw the connection end');
        // Nothing of c1 arrives after its end: the next question's events are all its own.
        fake.respond = () => ({ kind: 'answer', chunks: ['Done [1].'] });
        const next = await socket.ask({ id: 'c2', text: QUESTION });
        assert.ok(
          next.every((e) => e.id === 'c2'),
          JSON.stringify(next),
        );
        const [row] = await db().query<{ status: string }>(
          `SELECT status FROM conversation_messages WHERE role = 'assistant' ORDER BY id DESC OFFSET 1 LIMIT 1`,
        );
        assert.equal(row?.status, 'cancelled');
        const [usage] = await db().query<{ meta: { outcome: string; outputTokens: number } }>(
          `SELECT meta FROM usage_events WHERE kind = 'chat' ORDER BY id DESC OFFSET 1 LIMIT 1`,
        );
        assert.equal(usage?.meta.outcome, 'cancelled');
        assert.ok(usage.meta.outputTokens > 0, 'tokens streamed before the cancel are counted');
      } finally {
        socket.close();
      }
    });

    it('a provider error becomes an error event, and the socket answers the next question', async () => {
      const socket = await ChatSocket.open(port);
      try {
        fake.respond = () => ({ kind: 'status', status: 500, message: 'model crashed' });
        const events = await socket.ask({ id: 'e1', text: QUESTION });
        assert.deepEqual(types(events), ['retrieval', 'error:provider_error']);
        const error = events.at(-1) as Extract<ServerEvent, { type: 'error' }>;
        assert.match(error.message, /500.*model crashed/);
        fake.respond = () => ({ kind: 'status', status: 401, message: 'bad key' });
        assert.deepEqual(
          types(await socket.ask({ id: 'e2', text: QUESTION })).at(-1),
          'error:provider_auth',
        );
        await answersNext(socket, fake, 'e3');
      } finally {
        socket.close();
      }
    });

    it('a stalled provider yields provider_stalled, its stream is closed, the socket goes on', async () => {
      const socket = await ChatSocket.open(stallPort);
      try {
        fake.respond = () => ({ kind: 'stall', chunks: ['Let me think'] });
        const call = fake.nextCall();
        const events = await socket.ask({ id: 's1', text: QUESTION });
        assert.deepEqual(types(events), ['retrieval', 'delta', 'error:provider_stalled']);
        assert.equal((await (await call).closed).aborted, true);
        await answersNext(socket, fake, 's2');
      } finally {
        socket.close();
      }
    });

    it('malformed, invalid, binary and oversized frames get error events; the socket goes on', async () => {
      const socket = await ChatSocket.open(port);
      try {
        socket.send('{"type":"ask",');
        let e = await socket.next();
        assert.deepEqual(
          [e.type, e.type === 'error' && e.code, e.id],
          ['error', 'validation_error', undefined],
        );
        assert.match((e as { message: string }).message, /Malformed JSON/);

        socket.send('[1, 2]');
        e = await socket.next();
        assert.match((e as { message: string }).message, /Expected a JSON object/);

        socket.send({ type: 'shout', id: 'x1' });
        e = await socket.next();
        assert.match((e as { message: string }).message, /Unknown message type "shout"/);

        socket.send({ type: 'ask', id: 'x2', text: '' });
        e = await socket.next();
        assert.equal(e.id, 'x2', 'the error names the question when its id was readable');
        assert.match((e as { message: string }).message, /text: text must not be empty/);

        socket.ws.send(Buffer.from([1, 2, 3]), { binary: true });
        e = await socket.next();
        assert.match((e as { message: string }).message, /Binary frames/);

        socket.send({ type: 'ask', id: 'x3', text: 'x'.repeat(MAX_CHAT_FRAME_BYTES + 10) });
        e = await socket.next();
        assert.deepEqual([e.type, e.type === 'error' && e.code], ['error', 'payload_too_large']);

        await answersNext(socket, fake, 'x4');

        // Beyond the WebSocket's own limit (1 MiB) the connection is closed with 1009.
        const closed = new Promise<number>((r) => socket.ws.once('close', (code) => r(code)));
        socket.send('x'.repeat(1024 * 1024 + 1));
        assert.equal(await closed, 1009);
      } finally {
        socket.close();
      }
    });

    it('a second question with an id in flight is refused as busy', async () => {
      const socket = await ChatSocket.open(port);
      try {
        fake.respond = () => ({ kind: 'drip', chunk: 'w ', everyMs: 5 });
        socket.send({ type: 'ask', id: 'b1', text: QUESTION });
        assert.equal((await socket.next()).type, 'retrieval');
        socket.send({ type: 'ask', id: 'b1', text: QUESTION });
        let e: ServerEvent;
        do e = await socket.next();
        while (e.type === 'delta');
        assert.deepEqual([e.type, e.type === 'error' && e.code, e.id], ['error', 'busy', 'b1']);
        socket.send({ type: 'cancel', id: 'b1' });
        assert.equal(types(await socket.untilEnd('b1')).at(-1), 'error:cancelled');
      } finally {
        socket.close();
      }
    });

    it('SSE: a client that disconnects mid-answer cancels it and closes the provider stream', async () => {
      fake.respond = () => ({ kind: 'drip', chunk: 'word ', everyMs: 5 });
      const call = fake.nextCall();
      await new Promise<void>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/api/v1/chat',
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            res.on('data', (chunk: Buffer) => {
              if (String(chunk).includes('event: delta')) {
                req.destroy();
                resolve();
              }
            });
          },
        );
        req.on('error', (err) =>
          err.message.includes('socket hang up') ? undefined : reject(err),
        );
        req.end(JSON.stringify({ text: QUESTION }));
      });
      assert.equal((await (await call).closed).aborted, true);
    });

    it('SSE: bad bodies are refused before streaming, as JSON errors', async () => {
      const res = await postChat(port, { text: '' });
      assert.equal(res.status, 400);
      assert.equal(JSON.parse(res.raw).error, 'validation_error');
      const text = await fetch(`http://127.0.0.1:${port}/api/v1/chat`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'hello',
      });
      assert.equal(text.status, 415);
      const get = await fetch(`http://127.0.0.1:${port}/api/v1/chat`);
      assert.equal(get.status, 426);
      assert.match(((await get.json()) as { message: string }).message, /WebSocket/);
    });

    it('the WebSocket upgrade passes the Host and Origin checks like any request', async () => {
      // open() rejects once the server has also closed the refused connection.
      await assert.rejects(ChatSocket.open(port, { origin: 'http://evil.example' }), /HTTP 403/);
      await assert.rejects(ChatSocket.open(port, { host: 'evil.example' }), /HTTP 403/);
      // Other paths do not upgrade: the connection is closed without an answer.
      const other = new WebSocket(`ws://127.0.0.1:${port}/health`);
      await new Promise<void>((resolve) => other.once('error', () => resolve()));
      const ok = await ChatSocket.open(port, { origin: `http://127.0.0.1:${port}` });
      await answersNext(ok, fake, 'o1');
      ok.close();
    });
  });
});
