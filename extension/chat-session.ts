/**
 * The chat's state and actions, independent of whether the view is open: asking (streamed to the
 * view as `chat/event`), cancelling, chips, and the transcript kept in workspace state.
 */
import type * as vscode from 'vscode';
import type { LibrarySummary } from '../shared/api.js';
import type { ChatErrorCode } from '../shared/chat.js';
import type { HostMessage, LibraryChip, TranscriptEntry } from '../shared/webview-protocol.js';
import { ApiError } from './client.js';
import { suggestChips, type KnownLibrary } from './chips.js';
import type { Services } from './services.js';
import { AnswerBuilder, appendEntry } from './transcript.js';
import type { WorkspaceDeps } from './workspace-deps.js';

const TRANSCRIPT_KEY = 'twinmcp.chat.transcript';
const CONVERSATION_KEY = 'twinmcp.chat.conversationId';
// The library list changes when someone indexes; a minute old is fresh enough for chips.
const LIBRARIES_TTL_MS = 60_000;

export class ChatSession {
  private readonly inFlight = new Map<string, AbortController>();
  private readonly removed = new Set<string>();
  private chips: LibraryChip[] = [];
  private libraries: { at: number; list: Promise<KnownLibrary[]> } | undefined;
  /** Where to send host messages (the view, when open). */
  post: (msg: HostMessage) => void = () => {};

  constructor(
    private readonly services: Services,
    private readonly deps: WorkspaceDeps,
  ) {}

  private get state(): vscode.Memento {
    return this.services.context.workspaceState;
  }

  transcript(): TranscriptEntry[] {
    return this.state.get<TranscriptEntry[]>(TRANSCRIPT_KEY, []);
  }

  conversationId(): string | null {
    return this.state.get<string | null>(CONVERSATION_KEY, null);
  }

  restoreMessage(): HostMessage {
    return {
      type: 'chat/restore',
      transcript: this.transcript(),
      conversationId: this.conversationId(),
      chips: this.chips,
    };
  }

  /** Asks a question; resolves with the finished transcript entry (also on error or cancel). */
  async ask(id: string, text: string, libraries: string[]): Promise<TranscriptEntry> {
    const controller = new AbortController();
    this.inFlight.set(id, controller);
    const builder = new AnswerBuilder(id, text, libraries);
    try {
      const workspaceDeps = await this.deps.record();
      const conversationId = this.conversationId();
      const body = {
        id,
        text,
        ...(libraries.length > 0 ? { libraries: libraries.slice(0, 10) } : {}),
        ...(Object.keys(workspaceDeps).length > 0 ? { workspaceDeps } : {}),
        ...(conversationId ? { conversationId } : {}),
      };
      for await (const event of this.services.client.chat(body, controller.signal)) {
        this.post({ type: 'chat/event', event });
        if (builder.apply(event)) break;
      }
      if (!builder.done)
        builder.fail('internal_error', 'The answer ended early (the connection closed).');
    } catch (err) {
      const code = err instanceof ApiError ? err.code : 'internal_error';
      const message = err instanceof Error ? err.message : String(err);
      builder.fail(code, message);
      this.post({
        type: 'chat/event',
        event: { type: 'error', id, code: chatCode(code), message },
      });
    } finally {
      this.inFlight.delete(id);
    }
    const entry = builder.result();
    if (builder.conversationId) await this.state.update(CONVERSATION_KEY, builder.conversationId);
    await this.state.update(TRANSCRIPT_KEY, appendEntry(this.transcript(), entry));
    return entry;
  }

  cancel(id: string): void {
    this.inFlight.get(id)?.abort();
  }

  async clear(): Promise<void> {
    for (const c of this.inFlight.values()) c.abort();
    this.removed.clear();
    await this.state.update(TRANSCRIPT_KEY, []);
    await this.state.update(CONVERSATION_KEY, null);
    this.post({ type: 'chat/cleared' });
  }

  async detect(text: string): Promise<LibraryChip[]> {
    const [libraries, deps] = await Promise.all([this.knownLibraries(), this.deps.get()]);
    this.chips = suggestChips(text, libraries, deps, this.removed);
    this.post({ type: 'chat/chips', chips: this.chips });
    return this.chips;
  }

  removeChip(libraryId: string): void {
    this.removed.add(libraryId.split('/').slice(0, 3).join('/'));
    this.removed.add(libraryId);
    this.chips = this.chips.filter((c) => c.libraryId !== libraryId);
    this.post({ type: 'chat/chips', chips: this.chips });
  }

  private knownLibraries(): Promise<KnownLibrary[]> {
    if (!this.libraries || Date.now() - this.libraries.at > LIBRARIES_TTL_MS) {
      const list = this.services.client
        .json<{ libraries: LibrarySummary[] }>('/api/v1/libs')
        .then((r) => r.libraries.filter((l) => l.state === 'ready'))
        .catch(() => {
          this.libraries = undefined;
          return [];
        });
      this.libraries = { at: Date.now(), list };
    }
    return this.libraries.list;
  }

  dispose(): void {
    for (const c of this.inFlight.values()) c.abort();
  }
}

// The codes the chat contract lists (shared/chat.ts ChatErrorCode, a zod enum the bundle avoids).
const CHAT_CODES: ReadonlySet<string> = new Set<ChatErrorCode>([
  'validation_error',
  'payload_too_large',
  'not_found',
  'library_not_found',
  'busy',
  'cancelled',
  'provider_error',
  'provider_auth',
  'provider_rate_limited',
  'provider_unavailable',
  'provider_timeout',
  'provider_stalled',
  'internal_error',
]);

/** A client-side failure as a contract code; the view shows the message, which says the rest. */
function chatCode(code: string): ChatErrorCode {
  return CHAT_CODES.has(code) ? (code as ChatErrorCode) : 'internal_error';
}
