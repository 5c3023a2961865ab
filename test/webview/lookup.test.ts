import assert from 'node:assert/strict';
import type { Snippet } from '../../shared/api.js';
import {
  buildBundles,
  requireChromium,
  startHarness,
  type Harness,
  type WebviewPage,
} from './harness.js';

const CODE = 'const User = z.object({ name: z.string() });';

const SNIPPETS: Snippet[] = [
  {
    title: 'Objects',
    breadcrumb: ['API', 'Schemas', 'Objects'],
    source: 'https://zod.dev/api#objects',
    path: 'docs/api.md#objects',
    content: `Objects are defined with \`z.object\`.\n\n\`\`\`ts\n${CODE}\n\`\`\`\n\n<img src=x onerror="window.__pwned=1">`,
    description: 'Objects are defined with z.object.',
    code: [{ lang: 'ts', code: CODE }],
    tokens: 30,
    score: 0.9,
  },
  {
    title: 'Parsing',
    breadcrumb: [],
    source: 'docs/basics.md#parsing',
    path: 'docs/basics.md#parsing',
    content: 'Call `.parse()`.',
    description: '',
    code: [],
    tokens: 5,
    score: 0.5,
  },
];

describe('webview: lookup panel in Chromium', function () {
  let harness: Harness;
  let view: WebviewPage;

  before(async function () {
    requireChromium(this);
    harness = await startHarness(await buildBundles());
  });
  after(async () => harness?.close());
  beforeEach(async () => {
    view = await harness.open('lookup', { viewport: { width: 900, height: 800 } });
  });
  afterEach(async () => {
    if (!view) return;
    assert.deepEqual(await view.problems(), []);
    await view.close();
  });

  it('renders snippets with breadcrumb, source link, Markdown and code buttons', async () => {
    const { page } = view;
    await view.send({
      type: 'lookup/results',
      libraryId: '/colinhacks/zod',
      query: 'define an object',
      snippets: SNIPPETS,
    });
    await page.locator('article.snippet').nth(1).waitFor();
    assert.equal(await page.locator('h1').textContent(), 'define an object');
    assert.deepEqual(await page.locator('article.snippet h2').allTextContents(), [
      'Objects',
      'Parsing',
    ]);
    assert.equal(
      await page.locator('.breadcrumb').first().textContent(),
      'API › Schemas › Objects',
    );
    assert.equal(await page.locator('article.snippet code', { hasText: 'z.object' }).count(), 2);
    assert.equal(await page.locator('[onerror]').count(), 0);

    await page.getByRole('button', { name: 'Open source of Objects' }).click();
    assert.deepEqual(await view.waitForPosted('openSource'), {
      type: 'openSource',
      source: 'https://zod.dev/api#objects',
      path: 'docs/api.md#objects',
      libraryId: '/colinhacks/zod',
    });
    await page.getByRole('button', { name: 'Copy ts code' }).click();
    assert.deepEqual(await view.waitForPosted('copyCode'), { type: 'copyCode', code: CODE });
    await page.getByRole('button', { name: 'Insert ts code at cursor' }).click();
    assert.deepEqual(await view.waitForPosted('insertCode'), { type: 'insertCode', code: CODE });

    // Shown again from the saved state without a host message.
    const again = await harness.open('lookup', { state: await view.savedState() });
    try {
      await again.page.locator('article.snippet').nth(1).waitFor();
      assert.deepEqual(await again.problems(), []);
    } finally {
      await again.close();
    }
  });

  it('says so when nothing matched', async () => {
    await view.send({ type: 'lookup/results', libraryId: '/x/y', query: 'nothing', snippets: [] });
    await view.page.getByText('No documentation matched this query.').waitFor();
  });
});
