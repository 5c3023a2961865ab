import assert from 'node:assert/strict';
import { LexicalIndex, parseTsvector } from '../../server/search/lexical-index.js';

describe('lexical index', () => {
  it('parses PostgreSQL tsvector text with weights and quotes', () => {
    const parsed = [...parseTsvector(`'app.get':3 'hook':1A,5 'it''s':2B 'x'`)];
    assert.deepEqual(parsed, [
      ['app.get', ['D']],
      ['hook', ['A', 'D']],
      ["it's", ['B']],
      ['x', ['D']],
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
});
