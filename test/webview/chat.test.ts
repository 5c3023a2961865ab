import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import type { LibraryChip } from '../../shared/webview-protocol.js';
import { CITATIONS, chatEvent, done, retrieval } from './fixtures.js';
import {
  buildBundles,
  requireChromium,
  startHarness,
  type Harness,
  type WebviewPage,
} from './harness.js';

const CHIPS: LibraryChip[] = [
  { libraryId: '/colinhacks/zod/3.23.8', label: 'zod 3.23.8', origin: 'workspace' },
  { libraryId: '/vercel/next.js', label: 'next.js', origin: 'question' },
];

describe('webview: chat view in Chromium', function () {
  let harness: Harness;
  let view: WebviewPage;

  before(async function () {
    requireChromium(this);
    harness = await startHarness(await buildBundles());
  });
  after(async () => harness?.close());
  beforeEach(async () => {
    view = await harness.open('chat');
  });
  afterEach(async () => {
    if (!view) return;
    // No CSP violation, console error or page error in any test.
    assert.deepEqual(await view.problems(), []);
    await view.close();
  });

  /** Types a question and presses Enter; returns the posted chat/ask. */
  async function ask(text: string) {
    await view.page.locator('#chat-input').fill(text);
    await view.page.locator('#chat-input').press('Enter');
    return view.waitForPosted('chat/ask');
  }

  it('renders a streamed answer progressively as Markdown', async () => {
    const { page } = view;
    const { id } = await ask('How do I define an object?');
    await view.send(retrieval(id));
    await view.send(chatEvent({ type: 'delta', id, text: '## Objects\n\nUse `z.object` with' }));
    const answer = page.locator('article.exchange .answer');
    await answer.locator('h2', { hasText: 'Objects' }).waitFor();
    await answer.locator('code', { hasText: 'z.object' }).waitFor();
    assert.doesNotMatch((await answer.textContent()) ?? '', /keys/);
    assert.equal(await page.locator('article.exchange.streaming').count(), 1);
    assert.equal(await answer.getAttribute('aria-busy'), 'true');
    assert.equal(await page.getByRole('button', { name: 'Stop the answer' }).isEnabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Send question' }).isEnabled(), false);

    await view.send(chatEvent({ type: 'delta', id, text: ' **keys** [1].' }));
    await answer.locator('strong', { hasText: 'keys' }).waitFor();
    await view.send(chatEvent({ type: 'citations', id, citations: CITATIONS }));
    await view.send(done(id));
    await page.locator('article.exchange:not(.streaming)').waitFor();
    assert.equal(await answer.getAttribute('aria-busy'), 'false');
    assert.equal(await page.getByRole('button', { name: 'Send question' }).isEnabled(), true);
    assert.equal(await page.locator('.answer-label').isVisible(), false);
    const transcript = page.getByRole('log');
    assert.equal(await transcript.getAttribute('aria-live'), 'polite');
  });

  it('citations and the sources list post openSource', async () => {
    const { page } = view;
    const { id } = await ask('objects?');
    await view.send(retrieval(id));
    await view.send(chatEvent({ type: 'delta', id, text: 'See [1] and [2], not [9].' }));
    await view.send(chatEvent({ type: 'citations', id, citations: CITATIONS }));
    await view.send(done(id));
    const citation = page.locator('.answer button.citation', { hasText: '[1]' });
    await citation.click();
    const open = await view.waitForPosted('openSource');
    assert.deepEqual(open, {
      type: 'openSource',
      source: 'https://zod.dev/api#objects',
      path: 'docs/api.md#objects',
      libraryId: '/colinhacks/zod/3.23.8',
    });
    // [2] resolves through the retrieved sources; [9] matches nothing and stays text.
    assert.equal(await page.locator('.answer button.citation').count(), 2);
    assert.match((await page.locator('.answer').textContent()) ?? '', /not \[9\]/);
    // The sources list shows what the answer cited.
    const listed = page.locator('.sources .source-list button');
    assert.deepEqual(await listed.allTextContents(), ['Object schemas']);
    await listed.first().click();
    await view.waitForPosted('openSource', 2);
  });

  it('code blocks post copyCode and insertCode with the code', async () => {
    const { page } = view;
    const { id } = await ask('code please');
    await view.send(retrieval(id));
    const code = "import { z } from 'zod';\nconst User = z.object({ name: z.string() });";
    await view.send(chatEvent({ type: 'delta', id, text: `Here:\n\n\`\`\`ts\n${code}\n\`\`\`\n` }));
    await view.send(done(id));
    await page.getByRole('button', { name: 'Copy ts code' }).click();
    assert.deepEqual(await view.waitForPosted('copyCode'), { type: 'copyCode', code });
    await page.getByRole('button', { name: 'Insert ts code at cursor' }).click();
    assert.deepEqual(await view.waitForPosted('insertCode'), { type: 'insertCode', code });
  });

  it("Enter sends chat/ask with the chips' libraries; Shift+Enter adds a new line", async () => {
    const { page } = view;
    await view.send({ type: 'chat/chips', chips: CHIPS });
    await page.getByRole('button', { name: 'Remove zod 3.23.8' }).waitFor();
    const input = page.locator('#chat-input');
    await input.click();
    await page.keyboard.type('first line');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('second line');
    assert.equal(await input.inputValue(), 'first line\nsecond line');
    assert.equal((await view.posted()).filter((m) => m.type === 'chat/ask').length, 0);
    await page.keyboard.press('Enter');
    const sent = await view.waitForPosted('chat/ask');
    assert.equal(sent.text, 'first line\nsecond line');
    assert.deepEqual(sent.libraries, ['/colinhacks/zod/3.23.8', '/vercel/next.js']);
    assert.ok(sent.id.length > 0);
    assert.equal(await input.inputValue(), '');
    await page.locator('.question-text', { hasText: 'second line' }).waitFor();
  });

  it('removing a chip posts chat/removeChip and drops it from the next question', async () => {
    const { page } = view;
    await view.send({ type: 'chat/chips', chips: CHIPS });
    await page.getByRole('button', { name: 'Remove next.js' }).click();
    assert.deepEqual(await view.waitForPosted('chat/removeChip'), {
      type: 'chat/removeChip',
      libraryId: '/vercel/next.js',
    });
    assert.equal(await page.locator('.chip').count(), 1);
    const sent = await ask('only zod');
    assert.deepEqual(sent.libraries, ['/colinhacks/zod/3.23.8']);
  });

  it('typing posts chat/detect once, debounced', async () => {
    const { page } = view;
    // Every keystroke's input event in one synchronous burst, so a loaded machine cannot stretch
    // the gaps past the debounce.
    await page.evaluate((text) => {
      const input = document.getElementById('chat-input') as HTMLTextAreaElement;
      for (let i = 1; i <= text.length; i++) {
        input.value = text.slice(0, i);
        input.dispatchEvent(new Event('input', { bubbles: true }));
      }
    }, 'how do zod schemas work');
    const detect = await view.waitForPosted('chat/detect');
    assert.equal(detect.text, 'how do zod schemas work');
    await page.waitForTimeout(400);
    assert.equal((await view.posted()).filter((m) => m.type === 'chat/detect').length, 1);
  });

  it('Stop posts chat/cancel and the cancelled answer is marked', async () => {
    const { page } = view;
    const { id } = await ask('long answer');
    await view.send(retrieval(id));
    await view.send(chatEvent({ type: 'delta', id, text: 'Partial' }));
    await page.getByRole('button', { name: 'Stop the answer' }).click();
    assert.deepEqual(await view.waitForPosted('chat/cancel'), { type: 'chat/cancel', id });
    await view.send(chatEvent({ type: 'error', id, code: 'cancelled', message: 'cancelled' }));
    await page.locator('.error-message', { hasText: 'Stopped.' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Stop the answer' }).isEnabled(), false);
  });

  it('labels retrieval-only answers', async () => {
    const { page } = view;
    const { id } = await ask('no model here');
    await view.send(retrieval(id));
    await view.send(chatEvent({ type: 'delta', id, text: '### Object schemas\n\nz.object' }));
    await view.send(done(id, true));
    const label = page.locator('.answer-label');
    await label.waitFor();
    assert.equal(
      await label.textContent(),
      'Retrieved documentation (no language model configured on the server)',
    );
  });

  it('shows errors inline with their message', async () => {
    const { page } = view;
    const { id } = await ask('fails');
    await view.send(retrieval(id));
    await view.send(
      chatEvent({
        type: 'error',
        id,
        code: 'provider_unavailable',
        message: 'upstream down (503)',
      }),
    );
    await page.locator('article .error-message', { hasText: 'upstream down (503)' }).waitFor();
    // An error about no question (a frame the server could not read) shows as a notice.
    await view.send(chatEvent({ type: 'error', code: 'validation_error', message: 'bad frame' }));
    await page.getByRole('alert').filter({ hasText: 'bad frame' }).waitFor();
  });

  it('sanitizes Markdown: <img onerror>, <script> and javascript: links', async () => {
    const { page } = view;
    const { id } = await ask('evil');
    await view.send(retrieval(id));
    const evil = [
      'Hello <img src=x onerror="window.__pwned=1"> world',
      '<script>window.__pwned=2</script>',
      '[click me](javascript:window.__pwned=3) <a href="javascript:alert(1)">raw</a>',
      '<p style="color:red" onclick="window.__pwned=4">styled</p>',
      '<iframe src="https://example.com"></iframe>',
    ].join('\n\n');
    await view.send(chatEvent({ type: 'delta', id, text: evil }));
    await view.send(done(id));
    const answer = page.locator('.answer');
    await answer.locator('a', { hasText: 'click me' }).waitFor();
    const report = await answer.evaluate((node) => ({
      html: node.innerHTML,
      scripts: node.querySelectorAll('script, iframe').length,
      handlers: node.querySelectorAll('[onerror], [onclick], [style]').length,
      hrefs: Array.from(node.querySelectorAll('a')).map((a) => a.getAttribute('href')),
      pwned: (window as unknown as { __pwned?: number }).__pwned,
    }));
    assert.equal(report.scripts, 0, report.html);
    assert.equal(report.handlers, 0, report.html);
    assert.deepEqual(report.hrefs, [null, null], report.html);
    assert.equal(report.pwned, undefined);
    assert.doesNotMatch(report.html, /javascript:/i);
  });

  it('chat/restore rebuilds the history; the saved state restores a re-shown view at once', async () => {
    const { page } = view;
    await view.send({
      type: 'chat/restore',
      conversationId: 'conv-9',
      chips: CHIPS.slice(0, 1),
      transcript: [
        {
          id: 'q1',
          question: 'What is zod?',
          answer: 'A schema library [1].',
          citations: CITATIONS,
          sources: [],
          libraries: ['/colinhacks/zod/3.23.8'],
          retrievalOnly: false,
        },
        {
          id: 'q2',
          question: 'And offline?',
          answer: '### Parsing\n\nschema.parse',
          citations: {},
          sources: [],
          libraries: [],
          retrievalOnly: true,
        },
      ],
    });
    await page.locator('article.exchange').nth(1).waitFor();
    assert.deepEqual(await page.locator('.question-text').allTextContents(), [
      'What is zod?',
      'And offline?',
    ]);
    assert.equal(await page.locator('.answer-label:not([hidden])').count(), 1);
    await page.locator('#chat-input').fill('unsent draft');
    await page.locator('#chat-input').dispatchEvent('input');
    await page.waitForFunction(
      () =>
        (window as unknown as { __state?: { draft?: string } }).__state?.draft === 'unsent draft',
    );
    const saved = await view.savedState();

    // The view is hidden and shown again: a new page with VS Code's saved state, no host message.
    const again = await harness.open('chat', { state: saved });
    try {
      await again.page.locator('article.exchange').nth(1).waitFor();
      assert.equal(await again.page.locator('.chip').count(), 1);
      assert.equal(await again.page.locator('#chat-input').inputValue(), 'unsent draft');
      await again.page.locator('.answer button.citation').click();
      await again.waitForPosted('openSource');
      assert.deepEqual(await again.problems(), []);
    } finally {
      await again.close();
    }

    await view.send({ type: 'chat/cleared' });
    await page.locator('.empty').waitFor();
    assert.equal(await page.locator('article.exchange').count(), 0);
  });

  it('connection banner: unauthorized offers Sign in, which posts signIn', async () => {
    const { page } = view;
    await view.send({
      type: 'connection',
      state: { serverUrl: 'http://127.0.0.1:7377', status: 'unauthorized' },
    });
    await page.getByRole('button', { name: 'Sign in to TwinMCP' }).click();
    await view.waitForPosted('signIn');
    await view.send({
      type: 'connection',
      state: { serverUrl: 'http://127.0.0.1:7377', status: 'offline' },
    });
    await page.locator('.banner', { hasText: 'Cannot reach the TwinMCP server' }).waitFor();
    await view.send({
      type: 'connection',
      state: { serverUrl: 'http://127.0.0.1:7377', status: 'connected' },
    });
    await page.locator('.banner[role="status"]').waitFor({ state: 'hidden' });
  });

  it('keyboard: Tab reaches the chips, the input and the buttons, with a visible focus', async () => {
    const { page } = view;
    await view.send({ type: 'chat/chips', chips: CHIPS.slice(0, 1) });
    const { id } = await ask('q');
    await view.send(retrieval(id));
    await view.send(chatEvent({ type: 'delta', id, text: '```js\nx()\n```' }));
    await view.send(done(id));
    await page.getByRole('button', { name: 'Copy js code' }).waitFor();
    await page.locator('body').click({ position: { x: 1, y: 1 } });
    const order: string[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      order.push(
        await page.evaluate(() => {
          const a = document.activeElement as HTMLElement | null;
          return a?.getAttribute('aria-label') ?? a?.id ?? a?.tagName ?? '';
        }),
      );
    }
    for (const expected of [
      'Copy js code',
      'Insert js code at cursor',
      'Remove zod 3.23.8',
      'chat-input',
      'Send question',
      'Clear the conversation',
    ]) {
      assert.ok(order.includes(expected), `${expected} not reached by Tab: ${order.join(', ')}`);
    }
    await page.locator('#chat-input').focus();
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => {
      const style = getComputedStyle(document.activeElement as Element);
      return { style: style.outlineStyle, width: style.outlineWidth };
    });
    assert.notEqual(outline.style, 'none');
    assert.notEqual(outline.width, '0px');
  });

  it('chat/prefill fills the input, adds its libraries as chips, and sends when asked', async () => {
    const { page } = view;
    await view.send({
      type: 'chat/prefill',
      text: 'What does parse do?',
      libraries: [],
      send: false,
    });
    await page.waitForFunction(
      () => (document.getElementById('chat-input') as HTMLTextAreaElement).value !== '',
    );
    assert.equal(await page.locator('#chat-input').inputValue(), 'What does parse do?');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'chat-input');
    await view.send({
      type: 'chat/prefill',
      text: 'Explain z.infer',
      libraries: ['/colinhacks/zod/3.23.8'],
      send: true,
    });
    const sent = await view.waitForPosted('chat/ask');
    assert.equal(sent.text, 'Explain z.infer');
    assert.deepEqual(sent.libraries, ['/colinhacks/zod/3.23.8']);
    assert.equal(await page.locator('.chip').count(), 1);
  });

  it('saves a screenshot of the chat panel', async () => {
    const { page } = view;
    await view.send({ type: 'chat/chips', chips: CHIPS });
    const { id } = await ask('How do I validate an object with zod?');
    await view.send(retrieval(id));
    await view.send(
      chatEvent({
        type: 'delta',
        id,
        text: 'Define the shape with `z.object` [1], then call `parse` [2]:\n\n```ts\nconst User = z.object({ name: z.string() });\nUser.parse({ name: "Ada" });\n```\n',
      }),
    );
    await view.send(chatEvent({ type: 'citations', id, citations: CITATIONS }));
    await view.send(done(id));
    await page.locator('article.exchange:not(.streaming) .sources').waitFor();
    mkdirSync('test/artifacts', { recursive: true });
    await page.screenshot({ path: 'test/artifacts/chat.png' });
  });
});
