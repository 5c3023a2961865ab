/**
 * Messages between the extension host and its webviews (the chat side panel, the account page and
 * the lookup results panel), typed once here: one union per direction.
 *
 * The webview never talks to the server: every request goes through the extension host, which
 * holds the key and the server URL (in remote hosts the webview's localhost is the user's browser
 * machine, not the server's). Only type imports here, so the webview bundle carries no zod.
 */
import type { ChatCitations, ChatSource, ServerEvent } from './chat.js';
import type { ApiKeyInfo, AccountInfo, PlanLimits, UsageResponse } from './account.js';
import type { Snippet } from './api.js';

/** Which webview a message belongs to; sent by the webview in `ready`. */
export type WebviewKind = 'chat' | 'account' | 'lookup';

/** A library the chat answers from, shown as a removable chip. */
export interface LibraryChip {
  /** `/owner/name` or `/owner/name/version`. */
  libraryId: string;
  /** Display name, e.g. `zod 3.23.8`. */
  label: string;
  /** Where the chip came from: typed in the question, or the workspace's dependencies. */
  origin: 'question' | 'workspace';
}

/** One finished exchange in the chat transcript, as kept across reloads. */
export interface TranscriptEntry {
  id: string;
  question: string;
  /** Markdown of the answer (or of the retrieved snippets when `retrievalOnly`). */
  answer: string;
  citations: ChatCitations;
  sources: ChatSource[];
  libraries: string[];
  retrievalOnly: boolean;
  /** Set when the answer ended with an error or was cancelled. */
  error?: { code: string; message: string };
}

/** Connection and plan state, shown in the panel header and the status bar. */
export interface ConnectionState {
  serverUrl: string;
  status: 'connected' | 'offline' | 'unauthorized';
  /** Present when signed in. */
  account?: { name: string; email: string | null; plan: string };
  /** The server has no chat model: answers are the retrieved snippets. */
  retrievalOnly?: boolean;
  message?: string;
}

/** Extension host -> webview. */
export type HostMessage =
  // Any view
  | { type: 'connection'; state: ConnectionState }
  | { type: 'error'; message: string }
  // Chat view
  | {
      type: 'chat/restore';
      transcript: TranscriptEntry[];
      conversationId: string | null;
      chips: LibraryChip[];
    }
  /** One streamed chat event from the server, for the question `event.id`. */
  | { type: 'chat/event'; event: ServerEvent }
  | { type: 'chat/chips'; chips: LibraryChip[] }
  /** Fill the input (e.g. from a hover's "Open in TwinMCP chat"); `send` asks it right away. */
  | { type: 'chat/prefill'; text: string; libraries: string[]; send: boolean }
  | { type: 'chat/cleared' }
  // Account page
  | {
      type: 'account/data';
      account: AccountInfo;
      plan: { name: string; limits: PlanLimits };
      usage: UsageResponse;
      keys: ApiKeyInfo[];
      /** Plans the server sells (for Upgrade); empty when billing is off. */
      upgradePlans: string[];
    }
  | { type: 'account/signedOut' }
  /** The secret of a key just created: shown once, never stored by the webview. */
  | { type: 'account/keyCreated'; key: ApiKeyInfo; secret: string }
  // Lookup results panel
  | { type: 'lookup/results'; libraryId: string; query: string; snippets: Snippet[] };

/** Webview -> extension host. */
export type WebviewMessage =
  | { type: 'ready'; view: WebviewKind }
  /** Open a cited source: a URL in the browser, a local path in the editor. */
  | { type: 'openSource'; source: string; path: string; libraryId: string }
  | { type: 'copyCode'; code: string }
  | { type: 'insertCode'; code: string }
  | { type: 'signIn' }
  | { type: 'signOut' }
  // Chat view
  | { type: 'chat/ask'; id: string; text: string; libraries: string[] }
  | { type: 'chat/cancel'; id: string }
  /** The question being typed, so the host can suggest chips from it (debounced by the webview). */
  | { type: 'chat/detect'; text: string }
  | { type: 'chat/removeChip'; libraryId: string }
  | { type: 'chat/clear' }
  // Account page
  | { type: 'account/refresh' }
  | { type: 'account/createKey'; name: string }
  | { type: 'account/revokeKey'; id: string }
  | { type: 'account/upgrade'; plan: string }
  | { type: 'account/manageBilling' };

const WEBVIEW_TYPES: ReadonlySet<string> = new Set<WebviewMessage['type']>([
  'ready',
  'openSource',
  'copyCode',
  'insertCode',
  'signIn',
  'signOut',
  'chat/ask',
  'chat/cancel',
  'chat/detect',
  'chat/removeChip',
  'chat/clear',
  'account/refresh',
  'account/createKey',
  'account/revokeKey',
  'account/upgrade',
  'account/manageBilling',
]);

/** True when `value` looks like a message this protocol knows (the host still checks fields). */
export function isWebviewMessage(value: unknown): value is WebviewMessage {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { type?: unknown }).type === 'string' &&
    WEBVIEW_TYPES.has((value as { type: string }).type)
  );
}
