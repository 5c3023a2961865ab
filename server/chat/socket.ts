/**
 * One chat WebSocket: many questions, each answered by the chat core and told apart by id; cancel
 * by message. A frame that cannot be read gets an `error` event and the socket keeps working.
 */
import type { RawData, WebSocket } from 'ws';
import {
  ClientMessage,
  MAX_CHAT_FRAME_BYTES,
  MAX_CONCURRENT_QUESTIONS,
  type ErrorEvent,
  type ServerEvent,
} from '../../shared/chat.js';
import { runChat, type ChatDeps } from './core.js';

/**
 * ws closes the connection (1009) above this; below it and above MAX_CHAT_FRAME_BYTES the frame
 * gets a `payload_too_large` event instead, so a client bug does not cost the conversation.
 */
export const WS_MAX_PAYLOAD = 1024 * 1024;

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function error(code: ErrorEvent['code'], message: string, id?: string): ErrorEvent {
  return { type: 'error', ...(id !== undefined ? { id } : {}), code, message };
}

/** The `id` of a message that failed validation, when it had a usable one. */
function idOf(raw: unknown): string | undefined {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === 'string' && id.length > 0 && id.length <= 100 ? id : undefined;
}

function describeIssues(raw: unknown, issues: { path: PropertyKey[]; message: string }[]): string {
  const type = (raw as { type?: unknown } | null)?.type;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return 'Expected a JSON object like {"type":"ask","id":"q1","text":"..."}';
  }
  if (type !== 'ask' && type !== 'cancel') {
    return `Unknown message type ${JSON.stringify(type ?? null)}; expected "ask" or "cancel"`;
  }
  return `Invalid ${type} message: ${issues
    .map((i) => `${i.path.map(String).join('.') || 'message'}: ${i.message}`)
    .join('; ')}`;
}

/** Serves one connected socket until it closes; `deps` is built once per connection. */
export function serveChatSocket(
  socket: WebSocket,
  deps: ChatDeps,
  log: (msg: string, err?: unknown) => void,
): void {
  const inFlight = new Map<string, AbortController>();
  const send = (event: ServerEvent) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(event));
  };

  socket.on('message', (data, isBinary) => {
    const bytes = toBuffer(data);
    if (isBinary) {
      return send(error('validation_error', 'Binary frames are not accepted; send JSON text'));
    }
    if (bytes.length > MAX_CHAT_FRAME_BYTES) {
      return send(
        error(
          'payload_too_large',
          `Frame of ${bytes.length} bytes; the limit is ${MAX_CHAT_FRAME_BYTES} bytes`,
        ),
      );
    }
    let raw: unknown;
    try {
      raw = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      return send(error('validation_error', `Malformed JSON: ${(err as Error).message}`));
    }
    const parsed = ClientMessage.safeParse(raw);
    if (!parsed.success) {
      return send(error('validation_error', describeIssues(raw, parsed.error.issues), idOf(raw)));
    }
    const msg = parsed.data;
    if (msg.type === 'cancel') {
      inFlight.get(msg.id)?.abort();
      return;
    }
    if (inFlight.has(msg.id)) {
      return send(error('busy', `A question with id "${msg.id}" is still being answered`, msg.id));
    }
    if (inFlight.size >= MAX_CONCURRENT_QUESTIONS) {
      return send(
        error(
          'busy',
          `At most ${MAX_CONCURRENT_QUESTIONS} questions at once on one socket; wait for one to end or cancel it`,
          msg.id,
        ),
      );
    }
    const controller = new AbortController();
    inFlight.set(msg.id, controller);
    const { type: _type, ...ask } = msg;
    void (async () => {
      try {
        for await (const event of runChat(deps, ask, controller.signal)) send(event);
      } catch (err) {
        log('chat socket: question failed', err);
        send(error('internal_error', 'Internal error while answering', msg.id));
      } finally {
        inFlight.delete(msg.id);
      }
    })();
  });

  // Closing the socket cancels what it asked: the core stores what was answered and stops.
  socket.on('close', () => {
    for (const controller of inFlight.values()) controller.abort();
  });
}
