/**
 * The provider adapters through the official SDKs against local fakes of the vendors' streaming
 * wire formats, and the time limits around them (server/chat/guard.ts).
 */
import assert from 'node:assert/strict';
import type { ChatConfig } from '../../server/chat/config.js';
import { guardedStream } from '../../server/chat/guard.js';
import { createProvider } from '../../server/chat/providers/create.js';
import {
  ProviderError,
  type ChatProvider,
  type CompletionChunk,
  type CompletionRequest,
} from '../../server/chat/providers/types.js';
import { FAKE_API_KEY, startFakeLlm, type FakeLlm, type Vendor } from '../helpers/fake-llm.js';

const REQUEST: CompletionRequest = {
  system: 'Answer from the sources.',
  messages: [{ role: 'user', content: 'How do hooks work?' }],
  maxOutputTokens: 256,
};

function config(fake: FakeLlm, over: Partial<ChatConfig> = {}): ChatConfig {
  return {
    provider: fake.vendor === 'openai' ? 'openai' : 'anthropic',
    model: 'fake-model',
    baseUrl: fake.baseUrl,
    apiKey: FAKE_API_KEY,
    timeoutMs: 20_000,
    idleTimeoutMs: 20_000,
    maxOutputTokens: 256,
    contextTokens: 4000,
    maxRetries: 0,
    ...over,
  };
}

async function collect(it: AsyncIterable<CompletionChunk>): Promise<CompletionChunk[]> {
  const out: CompletionChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

for (const vendor of ['openai', 'anthropic'] as Vendor[]) {
  describe(`chat provider: ${vendor} SDK against the fake ${vendor} stream`, () => {
    let fake: FakeLlm;
    let provider: ChatProvider;
    const limits = { idleMs: 20_000, totalMs: 20_000 };

    before(async () => {
      fake = await startFakeLlm(vendor);
      provider = createProvider(config(fake))!;
    });
    after(() => fake.close());

    it('streams the text chunks in order, then the usage the vendor reported', async () => {
      fake.respond = () => ({
        kind: 'answer',
        chunks: ['Use ', 'onRequest', ' [1].'],
        usage: { input: 321, output: 7 },
      });
      const chunks = await collect(provider.stream(REQUEST, new AbortController().signal));
      assert.deepEqual(chunks, [
        { type: 'text', text: 'Use ' },
        { type: 'text', text: 'onRequest' },
        { type: 'text', text: ' [1].' },
        { type: 'usage', inputTokens: 321, outputTokens: 7 },
      ]);
      const call = fake.calls.at(-1)!;
      assert.equal(call.body.model, 'fake-model');
      if (vendor === 'openai') {
        const messages = call.body.messages as { role: string; content: string }[];
        assert.deepEqual(messages[0], { role: 'system', content: REQUEST.system });
        assert.equal(messages[1]!.content, 'How do hooks work?');
        assert.equal(call.body.max_completion_tokens, 256);
        assert.deepEqual(call.body.stream_options, { include_usage: true });
      } else {
        assert.equal(call.body.system, REQUEST.system);
        assert.equal(call.body.max_tokens, 256);
      }
    });

    it('maps a 401 to provider_auth and a 500 to provider_error with the vendor message', async () => {
      fake.respond = () => ({ kind: 'status', status: 500, message: 'the fake broke' });
      await rejectsWith(
        collect(provider.stream(REQUEST, new AbortController().signal)),
        'provider_error',
        /500.*the fake broke/,
      );
      const wrongKey = createProvider(config(fake, { apiKey: 'sk-wrong' }))!;
      await rejectsWith(
        collect(wrongKey.stream(REQUEST, new AbortController().signal)),
        'provider_auth',
        /401/,
      );
      fake.respond = () => ({ kind: 'status', status: 429, message: 'slow down' });
      await rejectsWith(
        collect(provider.stream(REQUEST, new AbortController().signal)),
        'provider_rate_limited',
      );
    });

    it('maps an error event in the middle of the stream to provider_error', async () => {
      fake.respond = () => ({ kind: 'stream-error', chunks: ['Partial'], message: 'Overloaded' });
      const seen: CompletionChunk[] = [];
      await rejectsWith(
        (async () => {
          for await (const c of provider.stream(REQUEST, new AbortController().signal))
            seen.push(c);
        })(),
        'provider_error',
        /Overloaded/,
      );
      assert.deepEqual(seen, [{ type: 'text', text: 'Partial' }]);
    });

    it('cancelling closes the HTTP stream: the fake sees the connection end', async () => {
      fake.respond = () => ({ kind: 'drip', chunk: 'word ', everyMs: 5 });
      const controller = new AbortController();
      const stream = guardedStream(provider, REQUEST, controller.signal, limits);
      const next = fake.nextCall();
      let texts = 0;
      await rejectsWith(
        (async () => {
          for await (const c of stream) {
            if (c.type === 'text' && ++texts === 2) controller.abort();
          }
        })(),
        'cancelled',
      );
      const end = await (await next).closed;
      assert.equal(end.aborted, true, 'the fake saw the client close the stream before its end');
      assert.equal(texts, 2, 'no chunk is delivered after the cancel');
    });

    it('a stalled stream ends with provider_stalled and its connection closed', async () => {
      fake.respond = () => ({ kind: 'stall', chunks: ['Thinking'] });
      const next = fake.nextCall();
      const seen: CompletionChunk[] = [];
      await rejectsWith(
        (async () => {
          const s = guardedStream(provider, REQUEST, new AbortController().signal, {
            // Long enough for a loaded machine's first chunk; the stall itself is endless.
            idleMs: 1000,
            totalMs: 20_000,
          });
          for await (const c of s) seen.push(c);
        })(),
        'provider_stalled',
        /TWINMCP_CHAT_IDLE_TIMEOUT_MS/,
      );
      assert.deepEqual(seen, [{ type: 'text', text: 'Thinking' }]);
      assert.equal((await (await next).closed).aborted, true);
    });

    it('a stream that keeps talking past the total timeout ends with provider_timeout', async () => {
      fake.respond = () => ({ kind: 'drip', chunk: '.', everyMs: 10 });
      const next = fake.nextCall();
      await rejectsWith(
        collect(
          guardedStream(provider, REQUEST, new AbortController().signal, {
            idleMs: 20_000,
            totalMs: 150,
          }),
        ),
        'provider_timeout',
        /TWINMCP_CHAT_TIMEOUT_MS/,
      );
      assert.equal((await (await next).closed).aborted, true);
    });
  });
}

describe('chat provider: unreachable server', () => {
  it('maps a refused connection to provider_unavailable naming the address', async () => {
    const fake = await startFakeLlm('openai');
    const baseUrl = fake.baseUrl;
    await fake.close();
    const provider = createProvider({ ...config(fake), baseUrl, provider: 'openai-compatible' })!;
    assert.equal(provider.name, 'openai-compatible');
    await rejectsWith(
      collect(provider.stream(REQUEST, new AbortController().signal)),
      'provider_unavailable',
      /127\.0\.0\.1/,
    );
  });
});
