import assert from 'node:assert/strict';
import {
  applyEvent,
  emptyState,
  fromTranscript,
  restoredState,
  startEntry,
  streamingEntry,
} from '../../webview-ui/chat/state.js';
import { CITATIONS, SOURCES } from './fixtures.js';

describe('webview: chat state', () => {
  it('follows one question through retrieval, deltas, citations and done', () => {
    const state = emptyState();
    startEntry(state, 'q1', 'What is zod?', ['/colinhacks/zod']);
    assert.equal(streamingEntry(state)?.id, 'q1');
    const libraries = ['/colinhacks/zod/3.23.8'];
    applyEvent(state, {
      type: 'retrieval',
      id: 'q1',
      conversationId: 'c1',
      libraries,
      snippets: SOURCES,
    });
    applyEvent(state, { type: 'delta', id: 'q1', text: 'A schema ' });
    applyEvent(state, { type: 'delta', id: 'q1', text: 'library [1].' });
    applyEvent(state, { type: 'citations', id: 'q1', citations: CITATIONS });
    const usage = {
      provider: 'none',
      model: 'none',
      inputTokens: 0,
      outputTokens: 0,
      latencyMs: 1,
    };
    const entry = applyEvent(state, {
      type: 'done',
      id: 'q1',
      conversationId: 'c1',
      retrievalOnly: true,
      usage,
    });
    assert.equal(entry?.answer, 'A schema library [1].');
    assert.deepEqual(entry?.libraries, libraries);
    assert.equal(entry?.sources.length, 2);
    assert.equal(entry?.retrievalOnly, true);
    assert.equal(entry?.streaming, false);
    assert.equal(state.conversationId, 'c1');
    assert.equal(streamingEntry(state), undefined);
  });

  it('an error ends the question; events of unknown questions change nothing', () => {
    const state = emptyState();
    startEntry(state, 'q1', 'x', []);
    assert.equal(applyEvent(state, { type: 'delta', id: 'other', text: 'no' }), undefined);
    assert.equal(
      applyEvent(state, { type: 'error', code: 'validation_error', message: 'bad frame' }),
      undefined,
    );
    const entry = applyEvent(state, {
      type: 'error',
      id: 'q1',
      code: 'cancelled',
      message: 'cancelled',
    });
    assert.deepEqual(entry?.error, { code: 'cancelled', message: 'cancelled' });
    assert.equal(entry?.streaming, false);
    assert.equal(entry?.answer, '');
  });

  it('restores saved state defensively and host transcripts as finished', () => {
    assert.deepEqual(restoredState(undefined), emptyState());
    const odd = { entries: 'nope', draft: 42 } as unknown as Parameters<typeof restoredState>[0];
    assert.deepEqual(restoredState(odd), emptyState());
    const restored = restoredState({ draft: 'half a question', conversationId: 'c9' });
    assert.equal(restored.draft, 'half a question');
    assert.equal(restored.conversationId, 'c9');
    const entries = fromTranscript([
      {
        id: 'a',
        question: 'q',
        answer: 'x',
        citations: {},
        sources: [],
        libraries: [],
        retrievalOnly: false,
      },
    ]);
    assert.equal(entries[0]?.streaming, false);
  });
});
