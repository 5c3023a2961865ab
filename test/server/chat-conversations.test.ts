/**
 * Conversations over REST on both back ends: list, get, rename, delete, export as Markdown, and
 * isolation between owners (two accounts and the local null owner). The chat plugin runs in a
 * Fastify app whose test hook plays the accounts layer: it sets `request.account` from a header.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import {
  Conversation,
  ConversationList,
  ConversationSummary,
  type ServerEvent,
} from '../../shared/chat.js';
import { parseChatConfig, type ChatConfig } from '../../server/chat/config.js';
import chatRoutes from '../../server/chat/routes.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { installErrorHandling } from '../../server/http/errors.js';
import { describeBackends } from '../helpers/backends.js';
import { parseSse } from '../helpers/fake-llm.js';

const ACCOUNT_HEADER = 'x-test-account';

async function testApp(engine: TwinEngine): Promise<FastifyInstance> {
  const parsed = parseChatConfig({});
  assert.ok('config' in parsed);
  const config: ChatConfig = parsed.config;
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate('engine', engine);
  installErrorHandling(app);
  app.decorateRequest('trusted', true);
  app.addHook('onRequest', async (request) => {
    const r = request as unknown as { account: { id: string } | null; trusted: boolean };
    const account = request.headers[ACCOUNT_HEADER];
    r.account = typeof account === 'string' ? { id: account } : null;
    // An anonymous caller of a server with accounts on: untrusted, without an account.
    r.trusted = request.headers['x-test-anonymous'] === undefined;
  });
  await app.register(chatRoutes, { prefix: '/api/v1', config });
  return app;
}

const as = (account: string | undefined): Record<string, string> =>
  account ? { [ACCOUNT_HEADER]: account } : {};

describeBackends('Chat conversations', ({ db }) => {
  describe('over REST', function () {
    let engine: TwinEngine;
    let tmp: string;
    let app: FastifyInstance;

    /** Asks through `POST /api/v1/chat` (retrieval-only) and returns the events. */
    async function ask(account: string | undefined, body: Record<string, unknown>) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/chat',
        headers: { 'content-type': 'application/json', ...as(account) },
        payload: body,
      });
      assert.equal(res.statusCode, 200, res.body);
      return parseSse(res.body);
    }

    function conversationOf(events: ServerEvent[]): string {
      const done = events.find((e) => e.type === 'done');
      assert.ok(done && done.type === 'done', JSON.stringify(events));
      return done.conversationId;
    }

    async function call(
      method: 'GET' | 'PATCH' | 'DELETE',
      url: string,
      account?: string,
      payload?: unknown,
    ) {
      return app.inject({
        method,
        url,
        headers: { ...as(account), ...(payload ? { 'content-type': 'application/json' } : {}) },
        ...(payload ? { payload: payload as Record<string, unknown> } : {}),
      });
    }

    before(async function () {
      this.timeout(120_000);
      tmp = mkdtempSync(join(tmpdir(), 'twinmcp-conv-'));
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
      app = await testApp(engine);
    });

    after(async () => {
      await app?.close();
      await engine?.close();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    it('lists, gets, renames, exports as Markdown and deletes a conversation', async () => {
      const first = await ask('acct_a', {
        text: 'kit: how do I create a widget?\nMore detail here.',
      });
      const id = conversationOf(first);
      await ask('acct_a', { text: 'kit: and delete one?', conversationId: id });

      const list = ConversationList.parse(
        (await call('GET', '/api/v1/conversations', 'acct_a')).json(),
      );
      assert.deepEqual(
        list.conversations.map((c) => [c.id, c.title, c.messageCount]),
        [[id, 'kit: how do I create a widget?', 4]],
      );

      const got = Conversation.parse(
        (await call('GET', `/api/v1/conversations/${id}`, 'acct_a')).json(),
      );
      assert.deepEqual(
        got.messages.map((m) => [m.role, m.status]),
        [
          ['user', 'complete'],
          ['assistant', 'complete'],
          ['user', 'complete'],
          ['assistant', 'complete'],
        ],
      );
      const answer = got.messages[1]!;
      assert.match(answer.text, /widgetNew/);
      assert.equal(answer.citations['1']?.libraryId, '/acme/kit');
      assert.equal(answer.usage?.provider, 'none');

      const renamed = await call('PATCH', `/api/v1/conversations/${id}`, 'acct_a', {
        title: '  Widgets\n  in Kit ',
      });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assert.equal(ConversationSummary.parse(renamed.json()).title, 'Widgets in Kit');

      const md = await call('GET', `/api/v1/conversations/${id}/export`, 'acct_a');
      assert.equal(md.statusCode, 200);
      assert.match(String(md.headers['content-type']), /^text\/markdown; charset=utf-8/);
      assert.match(String(md.headers['content-disposition']), new RegExp(`filename="${id}\\.md"`));
      assert.match(md.body, /^# Widgets in Kit\n/);
      assert.match(md.body, /## Question\n\nkit: how do I create a widget\?\nMore detail here\./);
      assert.match(md.body, /## Answer\n\n\*\*Retrieval only/);
      assert.match(md.body, /Sources:\n\n- \[1\] .+: index\.md.* \(\/acme\/kit\)/);

      const deleted = await call('DELETE', `/api/v1/conversations/${id}`, 'acct_a');
      assert.deepEqual(deleted.json(), { deleted: true });
      assert.equal((await call('GET', `/api/v1/conversations/${id}`, 'acct_a')).statusCode, 404);
      const again = await call('DELETE', `/api/v1/conversations/${id}`, 'acct_a');
      assert.equal(again.statusCode, 404);
      assert.equal(again.json().error, 'not_found');
      const [left] = await db().query<{ n: number }>(
        `SELECT count(*)::int AS n FROM conversation_messages WHERE conversation_id = $1`,
        [id],
      );
      assert.equal(left?.n, 0, 'messages go with their conversation');
    });

    it("never shows one owner's conversations to another (accounts and the null owner)", async () => {
      const a = conversationOf(await ask('acct_a', { text: 'kit widget for A' }));
      const b = conversationOf(await ask('acct_b', { text: 'kit widget for B' }));
      const local = conversationOf(await ask(undefined, { text: 'kit widget, local' }));
      const ids = async (account?: string) =>
        ConversationList.parse(
          (await call('GET', '/api/v1/conversations', account)).json(),
        ).conversations.map((c) => c.id);
      assert.deepEqual(await ids('acct_a'), [a]);
      assert.deepEqual(await ids('acct_b'), [b]);
      assert.deepEqual(await ids(undefined), [local]);

      for (const [owner, foreign] of [
        ['acct_b', a],
        [undefined, a],
        ['acct_a', local],
      ] as const) {
        for (const [method, url, payload] of [
          ['GET', `/api/v1/conversations/${foreign}`, undefined],
          ['GET', `/api/v1/conversations/${foreign}/export`, undefined],
          ['PATCH', `/api/v1/conversations/${foreign}`, { title: 'taken over' }],
          ['DELETE', `/api/v1/conversations/${foreign}`, undefined],
        ] as const) {
          const res = await call(method, url, owner, payload);
          assert.equal(res.statusCode, 404, `${method} ${url} as ${owner}: ${res.body}`);
        }
        const events = await ask(owner, { text: 'kit: continue', conversationId: foreign });
        assert.deepEqual(
          events.map((e) => (e.type === 'error' ? e.code : e.type)),
          ['not_found'],
        );
      }
      const stillA = Conversation.parse(
        (await call('GET', `/api/v1/conversations/${a}`, 'acct_a')).json(),
      );
      assert.equal(stillA.title, 'kit widget for A');
      assert.equal(stillA.messages.length, 2, 'nothing was appended by the other owners');
    });

    it('refuses bad input with clear errors', async () => {
      const id = conversationOf(await ask('acct_c', { text: 'kit widget' }));
      const empty = await call('PATCH', `/api/v1/conversations/${id}`, 'acct_c', { title: '  ' });
      assert.equal(empty.statusCode, 400);
      assert.equal(empty.json().error, 'validation_error');
      assert.match(empty.json().message, /title must not be empty/);
      const text = await app.inject({
        method: 'PATCH',
        url: `/api/v1/conversations/${id}`,
        headers: { 'content-type': 'text/plain', ...as('acct_c') },
        payload: 'title',
      });
      assert.equal(text.statusCode, 415);
      const missing = await call('GET', '/api/v1/conversations/conv_nope', 'acct_c');
      assert.deepEqual(missing.json(), {
        error: 'not_found',
        message: 'No conversation conv_nope',
      });
    });

    it('refuses anonymous callers of a server with accounts on', async () => {
      for (const [method, url] of [
        ['GET', '/api/v1/conversations'],
        ['POST', '/api/v1/chat'],
      ] as const) {
        const res = await app.inject({
          method,
          url,
          headers: { 'x-test-anonymous': '1', 'content-type': 'application/json' },
          ...(method === 'POST' ? { payload: { text: 'kit widget' } } : {}),
        });
        assert.equal(res.statusCode, 401, `${method} ${url}`);
        assert.equal(res.json().error, 'invalid_api_key');
      }
    });
  });
});
