/// <reference lib="dom" />
/**
 * The chat side panel: a transcript of question/answer pairs streamed from the host, library
 * chips and the question input. State lives in `ChatState`; `vscode.setState` keeps it so a view
 * hidden and shown again comes back at once, before the host's `chat/restore` arrives.
 */
import type { ConnectionState, HostMessage } from '../../shared/webview-protocol.js';
import { button, el, rootElement } from '../common/dom.js';
import { assertNever, createMessenger } from '../common/vscode-api.js';
import '../common/base.css';
import './chat.css';
import { Composer } from './composer.js';
import { ExchangeView, type ExchangeActions } from './exchange.js';
import {
  applyEvent,
  fromTranscript,
  restoredState,
  startEntry,
  streamingEntry,
  type ChatEntry,
  type ChatState,
} from './state.js';

/** Markdown is re-rendered at most this often while an answer streams (deltas come per token). */
const RENDER_INTERVAL_MS = 80;
/** The saved state is written at most this often while streaming. */
const SAVE_INTERVAL_MS = 500;

const vscode = createMessenger<ChatState>();
const state = restoredState(vscode.getState());
const views = new Map<string, ExchangeView>();
const dirty = new Set<string>();
let renderTimer: number | undefined;
let saveTimer: number | undefined;

const actions: ExchangeActions = {
  code: {
    copy: (code) => vscode.post({ type: 'copyCode', code }),
    insert: (code) => vscode.post({ type: 'insertCode', code }),
  },
  openSource: (target) =>
    vscode.post({
      type: 'openSource',
      source: target.source,
      path: target.path,
      libraryId: target.libraryId,
    }),
};

const banner = el('div', { class: 'banner', attrs: { role: 'status', hidden: '' } });
const notice = el('div', { class: 'banner error', attrs: { role: 'alert', hidden: '' } });
const empty = el(
  'p',
  { class: 'empty muted' },
  'Ask a question about the libraries your project uses. Answers cite their sources.',
);
const transcript = el('div', {
  class: 'transcript',
  attrs: { role: 'log', 'aria-live': 'polite', 'aria-label': 'Chat transcript' },
});
const composer = new Composer({
  send: (text) =>
    ask(
      text,
      state.chips.map((chip) => chip.libraryId),
    ),
  stop: () => {
    const entry = streamingEntry(state);
    if (entry) vscode.post({ type: 'chat/cancel', id: entry.id });
  },
  clear: () => {
    vscode.post({ type: 'chat/clear' });
    clearTranscript();
  },
  removeChip: (chip) => {
    state.chips = state.chips.filter((c) => c.libraryId !== chip.libraryId);
    composer.setChips(state.chips);
    vscode.post({ type: 'chat/removeChip', libraryId: chip.libraryId });
    save();
  },
  detect: (text) => vscode.post({ type: 'chat/detect', text }),
  draftChanged: (text) => {
    state.draft = text;
    scheduleSave();
  },
});

rootElement().replaceChildren(
  el('div', { class: 'chat' }, banner, notice, transcript, composer.root),
);

function newId(): string {
  return typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function ask(text: string, libraries: string[]): void {
  const id = newId();
  const entry = startEntry(state, id, text, libraries);
  vscode.post({ type: 'chat/ask', id, text, libraries });
  showEntry(entry);
  transcript.lastElementChild?.scrollIntoView({ block: 'end' });
  refreshBusy();
  save();
}

function showEntry(entry: ChatEntry): void {
  const view = new ExchangeView(entry, actions);
  views.set(entry.id, view);
  empty.remove();
  transcript.append(view.root);
}

function renderAll(): void {
  views.clear();
  transcript.replaceChildren();
  for (const entry of state.entries) showEntry(entry);
  if (state.entries.length === 0) transcript.append(empty);
  composer.setChips(state.chips);
  refreshBusy();
}

function clearTranscript(): void {
  state.entries = [];
  state.conversationId = null;
  renderAll();
  save();
}

function refreshBusy(): void {
  composer.setBusy(streamingEntry(state) !== undefined);
}

function flushRender(): void {
  renderTimer = undefined;
  for (const id of dirty) {
    const entry = state.entries.find((e) => e.id === id);
    if (entry) views.get(id)?.update(entry);
  }
  dirty.clear();
  refreshBusy();
}

/** Deltas mark their entry dirty; finished entries render at once. */
function scheduleRender(entry: ChatEntry): void {
  dirty.add(entry.id);
  if (!entry.streaming) {
    window.clearTimeout(renderTimer);
    flushRender();
  } else {
    renderTimer ??= window.setTimeout(flushRender, RENDER_INTERVAL_MS);
  }
}

function save(): void {
  window.clearTimeout(saveTimer);
  saveTimer = undefined;
  vscode.setState(state);
}

function scheduleSave(): void {
  saveTimer ??= window.setTimeout(save, SAVE_INTERVAL_MS);
}

function showConnection(connection: ConnectionState): void {
  banner.classList.toggle('error', connection.status !== 'connected');
  if (connection.status === 'connected') {
    banner.hidden = !connection.retrievalOnly;
    banner.replaceChildren(
      'The server has no language model: answers are the retrieved documentation.',
    );
    return;
  }
  banner.hidden = false;
  const text =
    connection.status === 'offline'
      ? `Cannot reach the TwinMCP server at ${connection.serverUrl}.`
      : 'Sign in to TwinMCP to ask questions.';
  banner.replaceChildren(
    el('span', { text: connection.message ? `${text} ${connection.message}` : text }),
    ...(connection.status === 'unauthorized'
      ? [
          button('Sign in', () => vscode.post({ type: 'signIn' }), {
            ariaLabel: 'Sign in to TwinMCP',
          }),
        ]
      : []),
  );
}

function showNotice(message: string): void {
  notice.hidden = false;
  notice.replaceChildren(
    el('span', { text: message }),
    button('Dismiss', () => (notice.hidden = true), {
      class: 'secondary',
      ariaLabel: 'Dismiss error',
    }),
  );
}

function onMessage(message: HostMessage): void {
  switch (message.type) {
    case 'connection':
      showConnection(message.state);
      break;
    case 'error':
      showNotice(message.message);
      break;
    case 'chat/restore': {
      // Keep a question still streaming here: its events keep coming after the restore.
      const live = state.entries.filter(
        (e) => e.streaming && !message.transcript.some((t) => t.id === e.id),
      );
      state.entries = [...fromTranscript(message.transcript), ...live];
      state.conversationId = message.conversationId;
      state.chips = message.chips;
      renderAll();
      save();
      break;
    }
    case 'chat/event': {
      const entry = applyEvent(state, message.event);
      if (entry) {
        scheduleRender(entry);
        if (entry.streaming) scheduleSave();
        else save();
      } else if (message.event.type === 'error') {
        showNotice(message.event.message);
      }
      break;
    }
    case 'chat/chips':
      state.chips = message.chips;
      composer.setChips(state.chips);
      save();
      break;
    case 'chat/prefill': {
      for (const libraryId of message.libraries) {
        if (!state.chips.some((c) => c.libraryId === libraryId)) {
          state.chips.push({ libraryId, label: libraryId.replace(/^\//, ''), origin: 'question' });
        }
      }
      composer.setChips(state.chips);
      composer.setText(message.text);
      if (message.send) composer.submit();
      else composer.focus();
      break;
    }
    case 'chat/cleared':
      clearTranscript();
      break;
    case 'account/data':
    case 'account/signedOut':
    case 'account/keyCreated':
    case 'lookup/results':
      break;
    default:
      assertNever(message);
  }
}

renderAll();
composer.setText(state.draft);
vscode.onMessage(onMessage);
vscode.post({ type: 'ready', view: 'chat' });
