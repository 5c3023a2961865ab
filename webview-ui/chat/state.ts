/**
 * The chat view's state and how server events change it. Pure (no DOM), so the view can re-render
 * from it and `vscode.setState` can keep it while the view is hidden.
 */
import type { ServerEvent } from '../../shared/chat.js';
import type { LibraryChip, TranscriptEntry } from '../../shared/webview-protocol.js';

/** A transcript entry plus whether its answer is still streaming. */
export interface ChatEntry extends TranscriptEntry {
  streaming: boolean;
}

/** Everything the chat view shows; what `setState` keeps. */
export interface ChatState {
  entries: ChatEntry[];
  chips: LibraryChip[];
  conversationId: string | null;
  /** The unsent question in the input. */
  draft: string;
}

/** The state of a fresh view. */
export function emptyState(): ChatState {
  return { entries: [], chips: [], conversationId: null, draft: '' };
}

/** Reads a state saved by an earlier version of the view defensively (fields may be missing). */
export function restoredState(saved: Partial<ChatState> | undefined): ChatState {
  const state = emptyState();
  if (!saved || typeof saved !== 'object') return state;
  if (Array.isArray(saved.entries)) state.entries = saved.entries;
  if (Array.isArray(saved.chips)) state.chips = saved.chips;
  if (typeof saved.conversationId === 'string') state.conversationId = saved.conversationId;
  if (typeof saved.draft === 'string') state.draft = saved.draft;
  return state;
}

/** Starts a question; the entry streams until `done` or `error`. */
export function startEntry(
  state: ChatState,
  id: string,
  question: string,
  libraries: string[],
): ChatEntry {
  const entry: ChatEntry = {
    id,
    question,
    answer: '',
    citations: {},
    sources: [],
    libraries,
    retrievalOnly: false,
    streaming: true,
  };
  state.entries.push(entry);
  return entry;
}

/** The entry still streaming, if any (the view asks one question at a time). */
export function streamingEntry(state: ChatState): ChatEntry | undefined {
  return state.entries.find((entry) => entry.streaming);
}

/**
 * Applies one server event; returns the entry it changed, or `undefined` when the event belongs to
 * no known question (an `error` without id is then shown by the caller).
 */
export function applyEvent(state: ChatState, event: ServerEvent): ChatEntry | undefined {
  const entry = event.id ? state.entries.find((e) => e.id === event.id) : undefined;
  if (!entry) return undefined;
  switch (event.type) {
    case 'retrieval':
      entry.sources = event.snippets;
      entry.libraries = event.libraries;
      state.conversationId = event.conversationId;
      break;
    case 'delta':
      entry.answer += event.text;
      break;
    case 'citations':
      entry.citations = event.citations;
      break;
    case 'done':
      entry.retrievalOnly = event.retrievalOnly;
      entry.streaming = false;
      state.conversationId = event.conversationId;
      break;
    case 'error':
      entry.error = { code: event.code, message: event.message };
      entry.streaming = false;
      break;
  }
  return entry;
}

/** Restores a transcript sent by the host (finished entries only). */
export function fromTranscript(transcript: TranscriptEntry[]): ChatEntry[] {
  return transcript.map((entry) => ({ ...entry, streaming: false }));
}
