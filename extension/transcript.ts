/**
 * Folds one question's stream of chat events into the transcript entry kept across reloads, and
 * keeps the transcript bounded. Pure (unit-tested).
 */
import type { ServerEvent } from '../shared/chat.js';
import type { TranscriptEntry } from '../shared/webview-protocol.js';

/** Entries kept in workspace state; older ones drop off (the server keeps the conversation). */
export const MAX_TRANSCRIPT = 50;

export class AnswerBuilder {
  private readonly entry: TranscriptEntry;
  conversationId: string | undefined;
  private finished = false;

  constructor(id: string, question: string, libraries: string[]) {
    this.entry = {
      id,
      question,
      answer: '',
      citations: {},
      sources: [],
      libraries,
      retrievalOnly: false,
    };
  }

  /** Applies one event; returns true when it ended the answer. */
  apply(event: ServerEvent): boolean {
    if (this.finished) return true;
    switch (event.type) {
      case 'retrieval':
        this.conversationId = event.conversationId;
        this.entry.sources = event.snippets;
        this.entry.libraries = event.libraries;
        return false;
      case 'delta':
        this.entry.answer += event.text;
        return false;
      case 'citations':
        this.entry.citations = event.citations;
        return false;
      case 'done':
        this.conversationId = event.conversationId;
        this.entry.retrievalOnly = event.retrievalOnly;
        this.finished = true;
        return true;
      case 'error':
        this.entry.error = { code: event.code, message: event.message };
        this.finished = true;
        return true;
    }
  }

  /** Ends the answer with an error the server did not send (network, cancel before any event). */
  fail(code: string, message: string): void {
    if (this.finished) return;
    this.entry.error = { code, message };
    this.finished = true;
  }

  get done(): boolean {
    return this.finished;
  }

  result(): TranscriptEntry {
    return { ...this.entry };
  }
}

export function appendEntry(
  transcript: TranscriptEntry[],
  entry: TranscriptEntry,
): TranscriptEntry[] {
  return [...transcript, entry].slice(-MAX_TRANSCRIPT);
}
