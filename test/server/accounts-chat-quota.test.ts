/**
 * The chat's monthly token quota with auth on: answers from the fake OpenAI (40 tokens each) count
 * against a plan of 50 tokens a month; the question after the month's tokens are spent is refused
 * (POST: 429 with the headers; WebSocket: error `quota_exceeded`), nothing is stored for it, the
 * usage endpoint shows the tokens, and the next calendar month (injected clock) serves again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createAccount } from '../../server/accounts/accounts.js';
import { createApiKey } from '../../server/accounts/keys.js';
import { loadConfig } from '../../server/config.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { buildApp } from '../../server/http/app.js';
import { describeBackends } from '../helpers/backends.js';
import {
  ChatSocket,
  FAKE_API_KEY,
  parseSse,
  startFakeLlm,
  type FakeLlm,
} from '../helpers/fake-llm.js';
import { authEnv, bearer, indexAs, testClock, TEST_PLANS, writeDocs } from './accounts-helpers.js';

describeBackends('accounts chat quota', ({ db }) =>
  describe('chat tokens per month', () => {
    let tmp: string;
    let engine: TwinEngine;
    let app: FastifyInstance;
    let llm: FakeLlm;
    let port: number;
    let key = '';
    let otherKey = '';
    // Mid-month, so "next month" is one jump of 31 days away whatever the month.
    const clock = testClock(Date.UTC(2026, 10, 10, 12));

    before(async function () {
      this.timeout(120_000);
      tmp = mkdtempSync(join(tmpdir(), 'twinmcp-chat-quota-'));
      engine = await createEngine({
        config: { dataDir: join(tmp, 'data') },
        db: db(),
        worker: true,
      });
      writeDocs(join(tmp, 'docs'), 'Quokkaflow', 'telemetry');
      await indexAs(engine, join(tmp, 'docs'), '/acme/quokkaflow', 'Quokkaflow', null);
      const chatty = { ...TEST_PLANS.plans.free, chatTokensPerMonth: 50 };
      const plansFile = join(tmp, 'chat-plans.json');
      writeFileSync(
        plansFile,
        JSON.stringify({ defaultPlan: 'free', plans: { ...TEST_PLANS.plans, chatty } }),
      );
      const acct = await createAccount(db(), { email: 'chatty@example.com', plan: 'chatty' });
      key = (await createApiKey(db(), acct.id, { name: 'chat' })).key;
      const other = await createAccount(db(), { email: 'other@example.com', plan: 'chatty' });
      otherKey = (await createApiKey(db(), other.id, { name: 'chat' })).key;
      llm = await startFakeLlm('openai');
      llm.respond = () => ({
        kind: 'answer',
        chunks: ['Call ', 'configureQuokkaflow().'],
        usage: { input: 30, output: 10 },
      });
      app = await buildApp({
        engine,
        config: loadConfig(
          authEnv(tmp, {
            TWINMCP_PLANS_FILE: plansFile,
            TWINMCP_CHAT_PROVIDER: 'openai',
            TWINMCP_CHAT_MODEL: 'gpt-fake',
            TWINMCP_CHAT_BASE_URL: llm.baseUrl,
            OPENAI_API_KEY: FAKE_API_KEY,
          }),
        ),
        clock: clock.now,
        boundHost: '127.0.0.1',
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.server.address();
      assert.ok(address && typeof address === 'object');
      port = address.port;
    });
    after(async () => {
      await app?.close();
      await llm?.close();
      await engine?.close();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    const post = async (k: string, text: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(k) },
        body: JSON.stringify({ text, libraries: ['/acme/quokkaflow'] }),
      });
      const raw = await res.text();
      return { res, raw };
    };
    const chatTokens = async (k: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/account/usage`, {
        headers: bearer(k),
      });
      const body = (await res.json()) as {
        quotas: { quota: string; used: number; limit: number }[];
      };
      return body.quotas.find((q) => q.quota === 'chatTokens');
    };
    const chatEvents = async () =>
      Number(
        (
          await db().query<{ n: string | number }>(
            `SELECT count(*) AS n FROM usage_events WHERE kind = 'chat'`,
          )
        )[0]?.n,
      );

    it('counts each answer’s tokens and refuses the question after the quota is spent', async () => {
      const first = await post(key, 'How do I configure telemetry?');
      assert.equal(first.res.status, 200, first.raw);
      const done = parseSse(first.raw).find((e) => e.type === 'done');
      assert.ok(done && done.type === 'done');
      assert.equal(done.usage.inputTokens + done.usage.outputTokens, 40);
      assert.deepEqual(await chatTokens(key), {
        quota: 'chatTokens',
        used: 40,
        limit: 50,
        resetsAt: new Date(Date.UTC(2026, 11, 1)).toISOString(),
      });
      // 40 < 50: the second question is answered, and may overshoot the month's tokens.
      assert.equal((await post(key, 'And retries?')).res.status, 200);
      assert.equal((await chatTokens(key))?.used, 80);
      const eventsBefore = await chatEvents();
      const callsBefore = llm.calls.length;

      const refused = await post(key, 'One more?');
      assert.equal(refused.res.status, 429);
      const body = JSON.parse(refused.raw) as { error: string; message: string };
      assert.equal(body.error, 'rate_limit_exceeded');
      assert.match(body.message, /Monthly quota of 50 chat tokens for the chatty plan is used up/);
      const retryAfter = Number(refused.res.headers.get('retry-after'));
      assert.equal(retryAfter, (Date.UTC(2026, 11, 1) - clock.now()) / 1000);
      assert.equal(refused.res.headers.get('ratelimit-limit'), '50');
      assert.equal(refused.res.headers.get('ratelimit-remaining'), '0');

      // The WebSocket says so with its own error code; the model is not called, nothing stored.
      const socket = await ChatSocket.open(port, bearer(key));
      try {
        const events = await socket.ask({ id: 'q1', text: 'Over the socket?' });
        assert.equal(events.length, 1);
        const [error] = events;
        assert.ok(error && error.type === 'error');
        assert.equal(error.code, 'quota_exceeded');
        assert.match(error.message, /chat tokens/);
      } finally {
        socket.close();
      }
      assert.equal(llm.calls.length, callsBefore);
      assert.equal(await chatEvents(), eventsBefore);
      assert.equal((await chatTokens(key))?.used, 80);

      // Another account on the same plan has its own month.
      assert.equal((await post(otherKey, 'Mine?')).res.status, 200);
      assert.equal((await chatTokens(otherKey))?.used, 40);
    });

    it('serves again in the next calendar month', async () => {
      clock.advance(31 * 86_400_000);
      const again = await post(key, 'New month?');
      assert.equal(again.res.status, 200, again.raw);
      assert.equal((await chatTokens(key))?.used, 40);
    });
  }),
);
