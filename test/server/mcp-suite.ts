/**
 * The MCP client suite both transports must pass (Streamable HTTP and stdio): the SDK's real
 * Client against a server with the small WidgetKit library below indexed as LIBRARY_ID.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { LIBRARIES_RESOURCE_URI } from '../../shared/mcp.js';

export const LIBRARY_ID = '/acme/widgetkit';

/** A small library: enough pages and code for resolve and query to have something to rank. */
export function writeDocs(dir: string): void {
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

export function text(result: unknown): string {
  const content = (result as CallToolResult).content;
  return content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

/** Registers the shared tests; `client()` returns the connected client of the enclosing suite. */
export function mcpClientSuite(client: () => Client): void {
  const call = (name: string, args: Record<string, unknown>) =>
    client().callTool({ name, arguments: args });

  it('lists the three tools with descriptions, described fields and annotations', async () => {
    const { tools } = await client().listTools();
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
    assert.deepEqual(Object.keys(resolve.inputSchema.properties!).sort(), ['libraryName', 'query']);
    assert.deepEqual(resolve.inputSchema.required, ['libraryName']);
    const query = byName.get('query-docs')!;
    assert.deepEqual(Object.keys(query.inputSchema.properties!).sort(), [
      'libraryId',
      'query',
      'tokens',
    ]);
    assert.deepEqual([...(query.inputSchema.required ?? [])].sort(), ['libraryId', 'query']);
    assert.match(byName.get('get-library-docs')!.description!, /deprecated.*query-docs/is);
    assert.deepEqual(Object.keys(byName.get('get-library-docs')!.inputSchema.properties!).sort(), [
      'context7CompatibleLibraryID',
      'tokens',
      'topic',
    ]);
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
    const { resources } = await client().listResources();
    assert.ok(resources.some((r) => r.uri === LIBRARIES_RESOURCE_URI));
    const read = await client().readResource({ uri: LIBRARIES_RESOURCE_URI });
    const first = read.contents[0];
    assert.ok(first && 'text' in first);
    const body = JSON.parse(first.text) as { libraries: { id: string }[] };
    assert.ok(body.libraries.some((l) => l.id === LIBRARY_ID));
  });

  it('reports an unknown tool as an isError result', async () => {
    const r = await call('no-such-tool', {});
    assert.equal(r.isError, true);
  });
}
