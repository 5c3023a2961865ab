/**
 * The chat core: one question in, typed events out (retrieval, deltas, citations, done; or one
 * error). Transports (WebSocket, server-sent events) only serialize what this yields.
 */
import type {
  Ask,
  ChatCitations,
  ChatErrorCode,
  ChatSource,
  ChatUsage,
  ServerEvent,
} from '../../shared/chat.js';
import type { Queryable } from '../db/db.js';
import type { ChatQuota } from '../accounts/chat-quota.js';
import type { CallContext, Engine } from '../engine-types.js';
import { countTokens } from '../indexing/tokens.js';
import type { ChatConfig } from './config.js';
import {
  appendMessage,
  conversationExists,
  createConversation,
  recentMessages,
  titleFrom,
} from './conversations.js';
import { ChatFailure } from './failure.js';
import { guardedStream } from './guard.js';
import {
  allCitations,
  buildCompletion,
  citationsFor,
  historyTurns,
  packSources,
  retrievalOnlyAnswer,
} from './prompt.js';
import type { ChatProvider, CompletionRequest } from './providers/types.js';
import { retrieve } from './retrieval.js';
import { recordChatUsage } from './usage.js';

export interface ChatDeps {
  engine: Engine;
  /** Undefined: no model configured, the answer is the retrieved snippets. */
  provider: ChatProvider | undefined;
  config: Pick<ChatConfig, 'contextTokens' | 'maxOutputTokens' | 'timeoutMs' | 'idleTimeoutMs'>;
  /** Where conversations and usage events are stored (the engine's database). */
  db: Queryable;
  /** Account the conversation belongs to; null = the local user without an account. */
  owner: string | null;
  /**
   * Whose libraries may be searched (the engine's rule): undefined for a trusted caller, who sees
   * all; otherwise public ones and this account's. Defaults to `owner`.
   */
  viewer?: string | null | undefined;
  /** The account's monthly chat token quota; absent = not metered (auth off, trusted callers). */
  quota?: ChatQuota | undefined;
  log?: (msg: string, err?: unknown) => void;
}

/** What a question has produced so far, for storing and recording however it ends. */
interface Progress {
  conversationId?: string;
  sources: ChatSource[];
  libraries: string[];
  answer: string;
  request?: CompletionRequest;
  reported?: { inputTokens: number; outputTokens: number };
}

/**
 * Answers one question. Ends with `done`, or with one `error` (code `cancelled` when `signal`
 * aborted); once `signal` has aborted no further `delta` is yielded.
 */
export async function* runChat(
  deps: ChatDeps,
  ask: Ask,
  signal: AbortSignal,
): AsyncGenerator<ServerEvent> {
  const started = performance.now();
  const { id } = ask;
  const p: Progress = { sources: [], libraries: [], answer: '' };
  const checkCancelled = () => {
    if (signal.aborted) throw new ChatFailure('cancelled', 'Cancelled by the client');
  };
  try {
    const refusal = await deps.quota?.check();
    if (refusal) throw new ChatFailure('quota_exceeded', refusal.message);
    const history = await openConversation(deps, ask, p);
    checkCancelled();
    const viewer = 'viewer' in deps ? deps.viewer : deps.owner;
    const ctx: CallContext = {
      client: 'chat',
      ...(viewer !== undefined ? { owner: viewer } : {}),
      ...(ask.workspaceDeps ? { workspaceDeps: ask.workspaceDeps } : {}),
    };
    const retrieved = await retrieve(deps.engine, ask, ctx, deps.config.contextTokens);
    p.libraries = retrieved.libraries;
    p.sources = packSources(retrieved.candidates, deps.config.contextTokens);
    checkCancelled();
    yield {
      type: 'retrieval',
      id,
      conversationId: p.conversationId!,
      libraries: p.libraries,
      snippets: p.sources,
    };

    let citations: ChatCitations;
    if (!deps.provider) {
      p.answer = retrievalOnlyAnswer(p.sources);
      yield { type: 'delta', id, text: p.answer };
      citations = allCitations(p.sources);
    } else {
      p.request = buildCompletion(ask.text, p.sources, history, deps.config.maxOutputTokens);
      const limits = { idleMs: deps.config.idleTimeoutMs, totalMs: deps.config.timeoutMs };
      for await (const chunk of guardedStream(deps.provider, p.request, signal, limits)) {
        if (chunk.type === 'usage') {
          p.reported = { inputTokens: chunk.inputTokens, outputTokens: chunk.outputTokens };
          continue;
        }
        checkCancelled();
        p.answer += chunk.text;
        yield { type: 'delta', id, text: chunk.text };
      }
      checkCancelled();
      citations = citationsFor(p.answer, p.sources);
    }
    yield { type: 'citations', id, citations };
    const usage = usageOf(deps, p, started);
    await finish(deps, ask, p, usage, 'complete', citations);
    yield {
      type: 'done',
      id,
      conversationId: p.conversationId!,
      retrievalOnly: !deps.provider,
      usage,
    };
  } catch (err) {
    const failure = toFailure(err, signal, deps);
    const usage = usageOf(deps, p, started);
    await finish(deps, ask, p, usage, failure.code, citationsFor(p.answer, p.sources)).catch(
      (e: unknown) => deps.log?.('chat: could not store a failed answer', e),
    );
    yield { type: 'error', id, code: failure.code, message: failure.message };
  }
}

/** Creates the conversation or checks the asked one is the owner's; returns the prompt history. */
async function openConversation(deps: ChatDeps, ask: Ask, p: Progress) {
  let history: ReturnType<typeof historyTurns> = [];
  if (ask.conversationId) {
    if (!(await conversationExists(deps.db, deps.owner, ask.conversationId))) {
      throw new ChatFailure('not_found', `No conversation ${ask.conversationId}`);
    }
    history = historyTurns(await recentMessages(deps.db, deps.owner, ask.conversationId));
    p.conversationId = ask.conversationId;
  } else {
    p.conversationId = await createConversation(deps.db, deps.owner, titleFrom(ask.text));
  }
  await appendMessage(deps.db, deps.owner, p.conversationId, { role: 'user', text: ask.text });
  return history;
}

function toFailure(err: unknown, signal: AbortSignal, deps: ChatDeps): ChatFailure {
  if (signal.aborted) return new ChatFailure('cancelled', 'Cancelled by the client');
  if (err instanceof ChatFailure) return err;
  deps.log?.('chat: question failed', err);
  return new ChatFailure('internal_error', 'Internal error while answering; see the server log');
}

/** Usage as reported by the provider, or counted here when it did not report (cancel, error). */
function usageOf(deps: ChatDeps, p: Progress, started: number): ChatUsage {
  const latencyMs = Math.round(performance.now() - started);
  if (!deps.provider) {
    return { provider: 'none', model: 'none', inputTokens: 0, outputTokens: 0, latencyMs };
  }
  const estimatedInput = p.request
    ? countTokens(p.request.system) +
      p.request.messages.reduce((n, m) => n + countTokens(m.content), 0)
    : 0;
  return {
    provider: deps.provider.name,
    model: deps.provider.model,
    inputTokens: p.reported?.inputTokens ?? estimatedInput,
    outputTokens: p.reported?.outputTokens ?? countTokens(p.answer),
    latencyMs,
  };
}

/** Stores the answer (whatever there is of it) and records the usage event. */
async function finish(
  deps: ChatDeps,
  ask: Ask,
  p: Progress,
  usage: ChatUsage,
  outcome: 'complete' | ChatErrorCode,
  citations: ChatCitations,
): Promise<void> {
  if (p.conversationId) {
    await appendMessage(deps.db, deps.owner, p.conversationId, {
      role: 'assistant',
      text: p.answer,
      citations,
      usage,
      status: outcome === 'complete' ? 'complete' : outcome === 'cancelled' ? 'cancelled' : 'error',
    });
  }
  // Questions refused before any work (unknown conversation, quota used up) cost nothing and are
  // not recorded.
  if (outcome === 'not_found' || outcome === 'quota_exceeded') return;
  // Cancelled and failed answers are charged too: the vendor bills the tokens it streamed.
  await deps.quota?.record(usage.inputTokens + usage.outputTokens);
  await recordChatUsage(deps.db, {
    owner: deps.owner,
    libraryId: p.libraries[0] ?? null,
    question: ask.text,
    usage,
    sources: p.sources.length,
    outcome,
    conversationId: p.conversationId ?? null,
  });
}
