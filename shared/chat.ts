/**
 * Chat wire contract: the messages a client sends over `GET /api/v1/chat` (WebSocket) or
 * `POST /api/v1/chat` (server-sent events), the events the server streams back, and the
 * `/api/v1/conversations` REST shapes.
 *
 * One question produces, in this order: `retrieval`, zero or more `delta`, `citations`, `done`;
 * or, at any point after it was accepted, one `error` that ends it (a cancelled question ends with
 * `error` code `cancelled`). Every event carries the `id` of the question it belongs to, so one
 * socket can carry several questions; an `error` about a frame that could not be read has no id.
 */
import { z } from 'zod';

/** Text frames above this size are refused with `payload_too_large` (the socket stays open). */
export const MAX_CHAT_FRAME_BYTES = 128 * 1024;
/** Longest question accepted. */
export const MAX_QUESTION_LENGTH = 8000;
/** Questions one WebSocket may have in flight at once. */
export const MAX_CONCURRENT_QUESTIONS = 4;

const questionId = z
  .string()
  .trim()
  .min(1, 'id must not be empty')
  .max(100, 'id must be at most 100 characters');

/** What the client asks. Over SSE the body is this without `type` (and `id` is optional). */
export const AskFields = {
  /** Client-chosen id, echoed on every event of this question; the server picks one over SSE. */
  id: questionId,
  /** Continue this conversation; a new one is created when absent. */
  conversationId: z.string().min(1).max(100).optional(),
  text: z
    .string()
    .trim()
    .min(1, 'text must not be empty')
    .max(MAX_QUESTION_LENGTH, `text must be at most ${MAX_QUESTION_LENGTH} characters`),
  /** Library ids to answer from (`/owner/name`, optionally with a version). */
  libraries: z.array(z.string().min(1).max(300)).max(10).optional(),
  /** The workspace's dependencies, package name -> version or range (package.json style). */
  workspaceDeps: z
    .record(z.string().min(1).max(214), z.string().max(100))
    .refine((deps) => Object.keys(deps).length <= 1000, 'at most 1000 dependencies')
    .optional(),
};

export const AskMessage = z.object({ type: z.literal('ask'), ...AskFields });
export type AskMessage = z.infer<typeof AskMessage>;

/** Cancels a question in flight; a cancel for an id that already ended is ignored. */
export const CancelMessage = z.object({ type: z.literal('cancel'), id: questionId });
export type CancelMessage = z.infer<typeof CancelMessage>;

export const ClientMessage = z.discriminatedUnion('type', [AskMessage, CancelMessage]);
export type ClientMessage = z.infer<typeof ClientMessage>;

/** `POST /api/v1/chat` body. */
export const AskBody = z.object({ ...AskFields, id: questionId.optional() });
export type AskBody = z.infer<typeof AskBody>;

/** A question as the chat core runs it. */
export type Ask = Omit<AskMessage, 'type'>;

/** One numbered documentation source given to the model (and shown to the user). */
export const ChatSource = z.object({
  n: z.number().int().positive(),
  libraryId: z.string(),
  title: z.string(),
  breadcrumb: z.array(z.string()),
  /** URL of the page, or its path in the source, with the section anchor. */
  source: z.string(),
  path: z.string(),
  content: z.string(),
  tokens: z.number(),
});
export type ChatSource = z.infer<typeof ChatSource>;

/** Where a cited `[n]` points. */
export const ChatCitation = z.object({
  title: z.string(),
  source: z.string(),
  path: z.string(),
  libraryId: z.string(),
});
export type ChatCitation = z.infer<typeof ChatCitation>;

/** `"3"` -> the source the answer cited as `[3]`. */
export const ChatCitations = z.record(z.string().regex(/^[1-9]\d*$/), ChatCitation);
export type ChatCitations = z.infer<typeof ChatCitations>;

export const ChatUsage = z.object({
  /** `none` when no chat model is configured (retrieval only). */
  provider: z.string(),
  model: z.string(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  latencyMs: z.number(),
});
export type ChatUsage = z.infer<typeof ChatUsage>;

export const ChatErrorCode = z.enum([
  // The frame or message was not valid (bad JSON, unknown type, missing field).
  'validation_error',
  'payload_too_large',
  // Unknown conversation (or one of another owner).
  'not_found',
  'library_not_found',
  // Too many questions in flight on this socket, or the id is already in use.
  'busy',
  'cancelled',
  // The provider refused the request or failed (its status and message are in the text).
  'provider_error',
  // The provider rejected the API key.
  'provider_auth',
  'provider_rate_limited',
  // The provider could not be reached.
  'provider_unavailable',
  // The answer took longer than the configured total timeout.
  'provider_timeout',
  // The provider sent nothing for longer than the configured idle timeout.
  'provider_stalled',
  // The account's monthly chat token quota is used up (POST /chat answers 429 instead).
  'quota_exceeded',
  'internal_error',
]);
export type ChatErrorCode = z.infer<typeof ChatErrorCode>;

export const RetrievalEvent = z.object({
  type: z.literal('retrieval'),
  id: z.string(),
  conversationId: z.string(),
  /** Library ids searched (versioned when a version was chosen). */
  libraries: z.array(z.string()),
  snippets: z.array(ChatSource),
});
export const DeltaEvent = z.object({ type: z.literal('delta'), id: z.string(), text: z.string() });
export const CitationsEvent = z.object({
  type: z.literal('citations'),
  id: z.string(),
  citations: ChatCitations,
});
export const DoneEvent = z.object({
  type: z.literal('done'),
  id: z.string(),
  conversationId: z.string(),
  /** True when no model is configured and the answer is the retrieved snippets. */
  retrievalOnly: z.boolean(),
  usage: ChatUsage,
});
export const ErrorEvent = z.object({
  type: z.literal('error'),
  /** Absent when the frame that caused it could not be read. */
  id: z.string().optional(),
  code: ChatErrorCode,
  message: z.string(),
});

export const ServerEvent = z.discriminatedUnion('type', [
  RetrievalEvent,
  DeltaEvent,
  CitationsEvent,
  DoneEvent,
  ErrorEvent,
]);
export type ServerEvent = z.infer<typeof ServerEvent>;
export type RetrievalEvent = z.infer<typeof RetrievalEvent>;
export type DeltaEvent = z.infer<typeof DeltaEvent>;
export type CitationsEvent = z.infer<typeof CitationsEvent>;
export type DoneEvent = z.infer<typeof DoneEvent>;
export type ErrorEvent = z.infer<typeof ErrorEvent>;

// Conversations (REST)

export const MessageStatus = z.enum(['complete', 'cancelled', 'error']);
export type MessageStatus = z.infer<typeof MessageStatus>;

export const ConversationMessage = z.object({
  id: z.string(),
  role: z.enum(['user', 'assistant']),
  text: z.string(),
  citations: ChatCitations,
  usage: ChatUsage.nullable(),
  status: MessageStatus,
  createdAt: z.string(),
});
export type ConversationMessage = z.infer<typeof ConversationMessage>;

export const ConversationSummary = z.object({
  id: z.string(),
  title: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  messageCount: z.number(),
});
export type ConversationSummary = z.infer<typeof ConversationSummary>;

export const Conversation = ConversationSummary.extend({
  messages: z.array(ConversationMessage),
});
export type Conversation = z.infer<typeof Conversation>;

export const ConversationList = z.object({ conversations: z.array(ConversationSummary) });
export type ConversationList = z.infer<typeof ConversationList>;

export const RenameConversationBody = z.object({
  title: z.string().trim().min(1, 'title must not be empty').max(200),
});
export type RenameConversationBody = z.infer<typeof RenameConversationBody>;
