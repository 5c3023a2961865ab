import assert from 'node:assert/strict';
import { LexicalIndex } from '../../server/search/lexical-index.js';
import { parseTsvector } from '../../server/search/tsvector.js';
import { asksAboutChanges, pageKind, PAGE_KIND } from '../../server/search/page-kind.js';

describe('lexical index', () => {
  it('parses PostgreSQL tsvector text with weights and quotes', () => {
    const parsed = [...parseTsvector(`'app.get':3 'hook':1A,5 'it''s':2B 'x'`)];
    assert.deepEqual(parsed, [
      ['app.get', ['D'], [3]],
      ['hook', ['A', 'D'], [1, 5]],
      ["it's", ['B'], [2]],
      ['x', ['D'], []],
    ]);
  });

  // Chunk 1 names the concept in its title; chunk 2 only mentions it in passing.
  const index = LexicalIndex.build([
    { id: 1, tsv: `'prehandl':1A 'hook':2A 'run':3 'handler':4 'auth':5 'token':6` },
    { id: 2, tsv: `'hook':1 'server':2 'listen':3 'port':4` },
    { id: 3, tsv: `'auth':1A 'token':2 'header':3 'bearer':4` },
    { id: 4, tsv: `'rout':1A 'path':2 'param':3` },
  ]);

  it('ranks a title match above a body mention (BM25F)', () => {
    const hits = index.search(new Map([['hook', 1]]), 10);
    assert.deepEqual(
      hits.map((h) => h.chunkId),
      [1, 2],
    );
    assert.ok(hits[0]!.titleCoverage > 0 && hits[1]!.titleCoverage === 0);
  });

  it('expands a question with the rare words its best chunks share', () => {
    const query = new Map([['prehandl', 1]]);
    const first = index.search(query, 10);
    const expanded = index.expand(query, first, 1, 3, 0.3);
    // "auth" and "token" occur in chunk 1 and one other chunk: they are added at a fraction.
    assert.equal(expanded.get('prehandl'), 1);
    assert.ok((expanded.get('auth') ?? 0) > 0 && (expanded.get('auth') ?? 0) <= 0.3);
    // A word only chunk 1 has (df 1) says nothing about other chunks and is not added.
    assert.equal(expanded.has('run'), false);
    assert.ok(index.search(expanded, 10).some((h) => h.chunkId === 3));
  });

  it('ranks chunks where question words stand together above ones where they are apart', () => {
    const idx = LexicalIndex.build([
      { id: 1, tsv: `'window':1 'other':2,3,4,5,6 'focus':9` },
      { id: 2, tsv: `'window':1 'focus':2 'other':3,4,5,6,7` },
    ]);
    const query = new Map([
      ['window', 1],
      ['focus', 1],
    ]);
    assert.equal(idx.search(query, 2)[0]!.score, idx.search(query, 2)[1]!.score);
    const hits = idx.search(query, 2, { pairs: [['window', 'focus']] });
    assert.deepEqual(
      hits.map((h) => h.chunkId),
      [2, 1],
    );
  });

  it('lifts a section whose page answers the question over a lone match elsewhere', () => {
    const idx = LexicalIndex.build([
      { id: 1, page: 10, tsv: `'retri':1A 'test':2,3 'timeout':4` },
      // Listed first, so without the page share it would win the tie.
      { id: 3, page: 20, tsv: `'test':1A 'queri':2` },
      { id: 2, page: 10, tsv: `'test':1A 'queri':2` },
    ]);
    const hits = idx.search(
      new Map([
        ['test', 1],
        ['queri', 1],
        ['retri', 1],
      ]),
      3,
    );
    // Chunks 2 and 3 match alike; 2 shares a page with the best chunk.
    assert.deepEqual(
      hits.map((h) => h.chunkId),
      [1, 2, 3],
    );
  });

  it('demotes release notes and migration guides unless the question is about changes', () => {
    assert.equal(pageKind('release-notes/TypeScript 4.9.md', 'TypeScript 4.9'), PAGE_KIND.history);
    assert.equal(pageKind('changelog/2026-07-x.mdx', 'July 2026'), PAGE_KIND.history);
    assert.equal(pageKind('Guides/Migration-Guide-V4.md', 'V4 Migration Guide'), PAGE_KIND.history);
    assert.equal(pageKind('v4/index.mdx', 'Release notes'), PAGE_KIND.history);
    // Database migrations and porting guides are about how things work now.
    assert.equal(pageKind('migrations/01-why.md', 'How migrations work?'), PAGE_KIND.current);
    assert.equal(pageKind('migrate/migrate_from_bun.md', 'Migrate from Bun'), PAGE_KIND.current);
    assert.equal(asksAboutChanges('which typescript version added satisfies'), true);
    assert.equal(asksAboutChanges('pydantic v2 @validator deprecation warning'), true);
    assert.equal(asksAboutChanges('express 5 async route handler rejects'), false);

    const idx = LexicalIndex.build([
      { id: 1, kind: PAGE_KIND.history, tsv: `'partial':1A 'type':2` },
      { id: 2, kind: PAGE_KIND.current, tsv: `'partial':1A 'type':2` },
    ]);
    const query = new Map([['partial', 1]]);
    assert.equal(idx.search(query, 2, { kindFactors: [1, 0.5] })[0]!.chunkId, 2);
  });
});
