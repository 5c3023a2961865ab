import assert from 'node:assert/strict';
import { CLIENT_HEADER as SHARED_CLIENT_HEADER } from '../../shared/account.js';
import type { Snippet } from '../../shared/api.js';
import type { ServerEvent } from '../../shared/chat.js';
import {
  parseWorkspaceDeps,
  WORKSPACE_DEPS_HEADER as SHARED_DEPS_HEADER,
} from '../../shared/mcp.js';
import { libraryNames, suggestChips, type KnownLibrary } from '../../extension/chips.js';
import { CLIENT_HEADER } from '../../extension/client.js';
import { depsHeader, WORKSPACE_DEPS_HEADER } from '../../extension/deps-header.js';
import { hoverTarget, jsImports, pythonImports, symbolAt } from '../../extension/hover-imports.js';
import {
  bestSnippet,
  escapeMarkdown,
  fence,
  hoverMarkdown,
} from '../../extension/hover-markdown.js';
import { Lru } from '../../extension/lru.js';
import { AnswerBuilder, appendEntry, MAX_TRANSCRIPT } from '../../extension/transcript.js';
import { contentSecurityPolicy, newNonce, webviewHtml } from '../../extension/webview-html.js';

describe('extension pure parts', () => {
  it('repeats the shared header names exactly (kept local so the bundle has no zod)', () => {
    assert.equal(CLIENT_HEADER, SHARED_CLIENT_HEADER);
    assert.equal(WORKSPACE_DEPS_HEADER, SHARED_DEPS_HEADER);
  });

  it('builds a workspace-deps header the server accepts, within its limits', () => {
    assert.equal(depsHeader({}), undefined);
    const value = depsHeader({ zod: '3.23.8', 'bad\u00e9': '1.0.0', fastify: '^4.28.0' })!;
    assert.deepEqual(parseWorkspaceDeps(value), { zod: '3.23.8', fastify: '^4.28.0' });
    const many = Object.fromEntries(
      Array.from({ length: 3000 }, (_, i) => [`package-number-${i}`, `${i}.0.0`]),
    );
    const big = depsHeader(many)!;
    assert.ok(big.length <= 48 * 1024);
    assert.ok(parseWorkspaceDeps(big), 'still parses as the server reads it');
  });

  describe('imports and the hovered symbol', () => {
    const TS = `import { z } from 'zod';
import React, { useState as useLocalState } from 'react';
import * as Q from '@tanstack/react-query/build';
import type { FastifyInstance } from 'fastify';
import './styles.css';
import { helper } from './local';
import fs from 'node:fs';
// import { ghost } from 'ghost-package';
const express = require('express');
const { Router: R, json } = require('express');
/* import { other } from 'other' */
export const s = z.object({ name: z.string().min(1) });
const [v, setV] = useLocalState(0);
Q.useQuery({});
`;

    it('maps local names to packages and imported names', () => {
      const map = jsImports(TS);
      assert.deepEqual(map.get('z'), { packageName: 'zod', imported: 'z', specifier: 'zod' });
      assert.equal(map.get('React')?.imported, 'default');
      assert.deepEqual(map.get('useLocalState'), {
        packageName: 'react',
        imported: 'useState',
        specifier: 'react',
      });
      assert.deepEqual(map.get('Q'), {
        packageName: '@tanstack/react-query',
        imported: '*',
        specifier: '@tanstack/react-query/build',
      });
      assert.equal(map.get('FastifyInstance')?.packageName, 'fastify');
      assert.equal(map.get('express')?.imported, '*');
      assert.deepEqual(map.get('R'), {
        packageName: 'express',
        imported: 'Router',
        specifier: 'express',
      });
      assert.equal(map.get('json')?.imported, 'json');
      for (const absent of ['helper', 'fs', 'ghost', 'other'])
        assert.equal(map.has(absent), false, absent);
    });

    it('finds the symbol chain under the cursor', () => {
      const at = (needle: string, delta = 1) => TS.indexOf(needle) + delta;
      assert.deepEqual(symbolAt(TS, at('z.object', 3)), {
        root: 'z',
        members: ['object'],
        start: TS.indexOf('z.object') + 2,
        end: TS.indexOf('z.object') + 8,
      });
      const imports = jsImports(TS);
      assert.deepEqual(hoverTarget(TS, at('z.string', 4), imports), {
        packageName: 'zod',
        symbol: 'z.string',
        display: 'zod.z.string',
      });
      assert.deepEqual(hoverTarget(TS, at('useLocalState(0)'), imports), {
        packageName: 'react',
        symbol: 'useState',
        display: 'react.useState',
      });
      assert.deepEqual(hoverTarget(TS, at('Q.useQuery', 3), imports), {
        packageName: '@tanstack/react-query',
        symbol: 'useQuery',
        display: '@tanstack/react-query.useQuery',
      });
      assert.equal(hoverTarget(TS, at('setV'), imports), undefined);
      assert.equal(hoverTarget(TS, at('  '), imports), undefined);
    });

    it('reads Python imports', () => {
      const map = pythonImports(
        'import numpy as np\nimport os.path, requests\nfrom fastapi import FastAPI, Depends as D\nfrom .local import x\nfrom pydantic import (\n    BaseModel,\n    Field,\n)\n# from ghost import y\n',
      );
      assert.deepEqual(map.get('np'), { packageName: 'numpy', imported: '*', specifier: 'numpy' });
      assert.equal(map.get('requests')?.packageName, 'requests');
      assert.deepEqual(map.get('D'), {
        packageName: 'fastapi',
        imported: 'Depends',
        specifier: 'fastapi',
      });
      assert.equal(map.get('Field')?.packageName, 'pydantic');
      assert.equal(map.has('x'), false);
      assert.equal(map.has('y'), false);
      const text = 'app = FastAPI()';
      assert.deepEqual(hoverTarget(text, 7, map), {
        packageName: 'fastapi',
        symbol: 'FastAPI',
        display: 'fastapi.FastAPI',
      });
    });
  });

  describe('hover markdown', () => {
    const snippet = (over: Partial<Snippet> = {}): Snippet => ({
      title: 'z.object()',
      breadcrumb: ['API', 'Objects'],
      source: 'https://zod.dev/api#objects',
      path: 'api.md',
      content: 'Define <b>objects</b>.\n```ts\nz.object({})\n```',
      description:
        'Use z.object to define [objects](javascript:alert(1)) <img src=x onerror=alert(1)>.',
      code: [
        { lang: 'ts', code: 'const User = z.object({ name: z.string() });\n// ``` not the end' },
      ],
      tokens: 50,
      score: 1,
      ...over,
    });

    it('escapes documentation text: no raw HTML, no links of its own', () => {
      const md = hoverMarkdown({
        display: 'zod.object',
        libraryId: '/npm/zod',
        version: '3.23',
        snippet: snippet(),
      });
      const header = md.split('\n')[0]!;
      assert.equal(header, '**zod\\.object** — `/npm/zod/3.23` 3.23');
      assert.ok(!md.includes('<img'), md);
      assert.ok(!md.includes('<b>'), md);
      assert.ok(!/\]\(javascript:/.test(md), 'the doc link is text, not a link');
      assert.ok(md.includes('````ts\nconst User'), 'the fence is longer than the backticks inside');
      const links = [...md.matchAll(/\]\((command:[^)]+)\)/g)].map((m) => m[1]!);
      assert.equal(links.length, 2);
      assert.ok(links[0]!.startsWith('command:twinmcp.openInChat?'));
      assert.deepEqual(JSON.parse(decodeURIComponent(links[0]!.split('?')[1]!)), [
        { text: 'How do I use zod.object?', libraries: ['/npm/zod/3.23'] },
      ]);
      assert.ok(links[1]!.startsWith('command:twinmcp.openSource?'));
    });

    it('picks the snippet whose title names the symbol', () => {
      const a = snippet({ title: 'Introduction' });
      const b = snippet({ title: 'useQuery options' });
      assert.equal(bestSnippet([a, b], 'useQuery'), b);
      assert.equal(bestSnippet([a], 'useQuery'), a);
      assert.equal(bestSnippet([], 'x'), undefined);
      assert.equal(escapeMarkdown('a*b_c <x>'), 'a\\*b\\_c &lt;x&gt;');
      assert.equal(fence('x', 'js"><script'), '```jsscript\nx\n```');
    });
  });

  it('suggests chips from the question, else from the workspace, with locked versions', () => {
    const libs: KnownLibrary[] = [
      { id: '/npm/zod', title: 'Zod', versions: ['v4', 'v3'] },
      { id: '/fastify/fastify', title: 'Fastify', versions: [] },
      { id: '/npm/tanstack__react-query', title: 'TanStack Query', versions: ['5.51'] },
    ];
    assert.deepEqual(libraryNames(libs[2]!), [
      'tanstack__react-query',
      'tanstack query',
      '@tanstack/react-query',
    ]);
    const deps = new Map([
      ['zod', '3.23.8'],
      ['@tanstack/react-query', '5.51.1'],
    ]);
    assert.deepEqual(suggestChips('How do I register a plugin in fastify?', libs, deps), [
      { libraryId: '/fastify/fastify', label: 'Fastify', origin: 'question' },
    ]);
    assert.deepEqual(suggestChips('how do I validate input', libs, deps), [
      { libraryId: '/npm/zod/v3', label: 'Zod 3.23.8', origin: 'workspace' },
      {
        libraryId: '/npm/tanstack__react-query/5.51',
        label: 'TanStack Query 5.51.1',
        origin: 'workspace',
      },
    ]);
    assert.deepEqual(
      suggestChips('how do I validate input', libs, deps, new Set(['/npm/zod'])).map(
        (c) => c.libraryId,
      ),
      ['/npm/tanstack__react-query/5.51'],
    );
  });

  it('folds chat events into one transcript entry', () => {
    const b = new AnswerBuilder('q1', 'how?', ['/npm/zod']);
    const events: ServerEvent[] = [
      {
        type: 'retrieval',
        id: 'q1',
        conversationId: 'c1',
        libraries: ['/npm/zod/v3'],
        snippets: [],
      },
      { type: 'delta', id: 'q1', text: 'Use ' },
      { type: 'delta', id: 'q1', text: 'z.string() [1]' },
      {
        type: 'citations',
        id: 'q1',
        citations: { '1': { title: 't', source: 's', path: 'p', libraryId: '/npm/zod' } },
      },
    ];
    for (const e of events) assert.equal(b.apply(e), false);
    const done: ServerEvent = {
      type: 'done',
      id: 'q1',
      conversationId: 'c1',
      retrievalOnly: true,
      usage: { provider: 'none', model: '', inputTokens: 0, outputTokens: 0, latencyMs: 1 },
    };
    assert.equal(b.apply(done), true);
    b.fail('cancelled', 'late cancel is ignored');
    assert.deepEqual(b.result(), {
      id: 'q1',
      question: 'how?',
      answer: 'Use z.string() [1]',
      citations: { '1': { title: 't', source: 's', path: 'p', libraryId: '/npm/zod' } },
      sources: [],
      libraries: ['/npm/zod/v3'],
      retrievalOnly: true,
    });
    assert.equal(b.conversationId, 'c1');
    const failed = new AnswerBuilder('q2', 'x', []);
    failed.apply({ type: 'delta', id: 'q2', text: 'partial' });
    failed.apply({ type: 'error', id: 'q2', code: 'cancelled', message: 'Cancelled' });
    assert.deepEqual(failed.result().error, { code: 'cancelled', message: 'Cancelled' });
    assert.equal(failed.result().answer, 'partial');
    let t = appendEntry([], b.result());
    for (let i = 0; i < MAX_TRANSCRIPT + 5; i++) t = appendEntry(t, { ...b.result(), id: `e${i}` });
    assert.equal(t.length, MAX_TRANSCRIPT);
    assert.equal(t.at(-1)!.id, `e${MAX_TRANSCRIPT + 4}`);
  });

  it('writes webview HTML with a nonce-only CSP and no inline code', () => {
    const nonce = newNonce((n) => new Uint8Array(n).fill(7));
    assert.equal(nonce.length, 24);
    const html = webviewHtml({
      title: 'Chat <x>',
      cspSource: 'https://webview.test',
      scriptUri: 'https://webview.test/chat.js',
      styleUri: 'https://webview.test/chat.css',
      nonce,
    });
    assert.equal(
      contentSecurityPolicy('https://webview.test', nonce),
      `default-src 'none'; img-src https://webview.test https: data:; style-src https://webview.test; script-src 'nonce-${nonce}'; font-src https://webview.test`,
    );
    assert.ok(
      html.includes(`<script nonce="${nonce}" src="https://webview.test/chat.js"></script>`),
    );
    assert.ok(html.includes('<div id="root"></div>'));
    assert.ok(!html.includes('unsafe-inline'));
    assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), 'no inline script');
    assert.ok(!/<style|style="/.test(html), 'no inline style');
    assert.ok(html.includes('<title>Chat &lt;x&gt;</title>'));
  });

  it('keeps the most recently used entries', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    assert.equal(lru.get('a'), 1);
    lru.set('c', 3);
    assert.equal(lru.has('b'), false);
    assert.equal(lru.get('a'), 1);
    assert.equal(lru.size, 2);
  });
});
