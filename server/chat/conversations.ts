/**
 * Conversations and their messages. Every statement filters by owner (`IS NOT DISTINCT FROM`, so
 * null, the local user without an account, matches only null): one owner never sees another's.
 */
import { randomBytes } from 'node:crypto';
import type {
  ChatCitations,
  ChatUsage,
  Conversation,
  ConversationMessage,
  ConversationSummary,
  MessageStatus,
} from '../../shared/chat.js';
import type { Queryable } from '../db/db.js';

/** Conversations listed at most (newest first). */
export const LIST_LIMIT = 200;
/** Earlier messages loaded to build the prompt's history. */
const HISTORY_MESSAGES = 20;

interface SummaryRow {
  id: string;
  title: string;
  created_at: Date | string;
  updated_at: Date | string;
  message_count: number | string;
}

interface MessageRow {
  id: number | string;
  role: 'user' | 'assistant';
  text: string;
  citations: ChatCitations;
  usage: ChatUsage | null;
  status: MessageStatus;
  created_at: Date | string;
}

const iso = (d: Date | string) => new Date(d).toISOString();

function toSummary(r: SummaryRow): ConversationSummary {
  return {
    id: r.id,
    title: r.title,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    messageCount: Number(r.message_count),
  };
}

function toMessage(r: MessageRow): ConversationMessage {
  return {
    id: String(r.id),
    role: r.role,
    text: r.text,
    citations: r.citations ?? {},
    usage: r.usage ?? null,
    status: r.status,
    createdAt: iso(r.created_at),
  };
}

/** A title from the first question: its first line, at most 80 characters. */
export function titleFrom(question: string): string {
  const line = question.trim().split('\n')[0]!.trim();
  return line.length <= 80 ? line : `${line.slice(0, 79).trimEnd()}…`;
}

export async function createConversation(
  db: Queryable,
  owner: string | null,
  title: string,
): Promise<string> {
  // 96 random bits: ids are not secrets (owner filters guard access) but must not collide.
  const id = `conv_${randomBytes(12).toString('base64url')}`;
  await db.query(`INSERT INTO conversations (id, owner_account, title) VALUES ($1, $2, $3)`, [
    id,
    owner,
    title,
  ]);
  return id;
}

const SUMMARY_SQL = `SELECT c.id, c.title, c.created_at, c.updated_at,
         (SELECT count(*) FROM conversation_messages m WHERE m.conversation_id = c.id) AS message_count
    FROM conversations c`;

export async function listConversations(
  db: Queryable,
  owner: string | null,
): Promise<ConversationSummary[]> {
  const rows = await db.query<SummaryRow>(
    `${SUMMARY_SQL} WHERE c.owner_account IS NOT DISTINCT FROM $1
      ORDER BY c.updated_at DESC, c.id LIMIT ${LIST_LIMIT}`,
    [owner],
  );
  return rows.map(toSummary);
}

/** True when the conversation exists and belongs to `owner`. */
export async function conversationExists(
  db: Queryable,
  owner: string | null,
  id: string,
): Promise<boolean> {
  const rows = await db.query(
    `SELECT 1 FROM conversations WHERE id = $1 AND owner_account IS NOT DISTINCT FROM $2`,
    [id, owner],
  );
  return rows.length > 0;
}

export async function getConversation(
  db: Queryable,
  owner: string | null,
  id: string,
): Promise<Conversation | undefined> {
  const [row] = await db.query<SummaryRow>(
    `${SUMMARY_SQL} WHERE c.id = $1 AND c.owner_account IS NOT DISTINCT FROM $2`,
    [id, owner],
  );
  if (!row) return undefined;
  const messages = await db.query<MessageRow>(
    `SELECT id, role, text, citations, usage, status, created_at
       FROM conversation_messages WHERE conversation_id = $1 ORDER BY id`,
    [id],
  );
  return { ...toSummary(row), messages: messages.map(toMessage) };
}

/** The last messages of a conversation, oldest first, for the prompt's history. */
export async function recentMessages(
  db: Queryable,
  owner: string | null,
  id: string,
): Promise<ConversationMessage[]> {
  const rows = await db.query<MessageRow>(
    `SELECT m.id, m.role, m.text, m.citations, m.usage, m.status, m.created_at
       FROM conversation_messages m JOIN conversations c ON c.id = m.conversation_id
      WHERE m.conversation_id = $1 AND c.owner_account IS NOT DISTINCT FROM $2
      ORDER BY m.id DESC LIMIT ${HISTORY_MESSAGES}`,
    [id, owner],
  );
  return rows.reverse().map(toMessage);
}

export async function renameConversation(
  db: Queryable,
  owner: string | null,
  id: string,
  title: string,
): Promise<ConversationSummary | undefined> {
  const updated = await db.query<{ id: string }>(
    `UPDATE conversations SET title = $3, updated_at = now()
      WHERE id = $1 AND owner_account IS NOT DISTINCT FROM $2 RETURNING id`,
    [id, owner, title],
  );
  if (updated.length === 0) return undefined;
  const [row] = await db.query<SummaryRow>(`${SUMMARY_SQL} WHERE c.id = $1`, [id]);
  return row ? toSummary(row) : undefined;
}

export async function deleteConversation(
  db: Queryable,
  owner: string | null,
  id: string,
): Promise<boolean> {
  const rows = await db.query(
    `DELETE FROM conversations WHERE id = $1 AND owner_account IS NOT DISTINCT FROM $2 RETURNING id`,
    [id, owner],
  );
  return rows.length > 0;
}

export interface NewMessage {
  role: 'user' | 'assistant';
  text: string;
  citations?: ChatCitations;
  usage?: ChatUsage;
  status?: MessageStatus;
}

/** Appends a message and touches the conversation; false when it is not the owner's (or gone). */
export async function appendMessage(
  db: Queryable,
  owner: string | null,
  conversationId: string,
  m: NewMessage,
): Promise<boolean> {
  const rows = await db.query(
    `WITH c AS (UPDATE conversations SET updated_at = now()
                 WHERE id = $1 AND owner_account IS NOT DISTINCT FROM $2 RETURNING id)
     INSERT INTO conversation_messages (conversation_id, role, text, citations, usage, status)
     SELECT c.id, $3, $4, $5::jsonb, $6::jsonb, $7 FROM c RETURNING id`,
    [
      conversationId,
      owner,
      m.role,
      m.text,
      JSON.stringify(m.citations ?? {}),
      m.usage ? JSON.stringify(m.usage) : null,
      m.status ?? 'complete',
    ],
  );
  return rows.length > 0;
}

/** The conversation as a Markdown document: questions, answers and their cited sources. */
export function conversationMarkdown(c: Conversation): string {
  const out = [
    `# ${c.title.replace(/\s+/g, ' ')}`,
    '',
    `_Exported from TwinMCP; started ${c.createdAt}._`,
  ];
  for (const m of c.messages) {
    out.push('', m.role === 'user' ? '## Question' : '## Answer', '', m.text.trim() || '_(empty)_');
    if (m.status !== 'complete') out.push('', `_(answer ${m.status})_`);
    const cited = Object.entries(m.citations).sort(([a], [b]) => Number(a) - Number(b));
    if (cited.length > 0) {
      out.push('', 'Sources:', '');
      for (const [n, s] of cited) out.push(`- [${n}] ${s.title}: ${s.source} (${s.libraryId})`);
    }
  }
  return `${out.join('\n')}\n`;
}
