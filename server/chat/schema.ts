import type { Migration } from '../db/migrate.js';

/** Chat conversations and their messages, with the owner account (null = local, no account). */
export const CHAT_MIGRATION: Migration = {
  version: 4,
  name: 'chat conversations and messages',
  sql: /* sql */ `
CREATE TABLE conversations (
  id            text PRIMARY KEY,                 -- 'conv_' + random
  owner_account text,                             -- accounts.id; null = local user without account
  title         text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_owner_updated ON conversations (owner_account, updated_at DESC);

CREATE TABLE conversation_messages (
  id              bigserial PRIMARY KEY,
  conversation_id text NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  role            text NOT NULL CHECK (role IN ('user', 'assistant')),
  text            text NOT NULL,
  citations       jsonb NOT NULL DEFAULT '{}',    -- {"n": {title, source, path, libraryId}}
  usage           jsonb,                          -- {provider, model, inputTokens, outputTokens, latencyMs}
  status          text NOT NULL DEFAULT 'complete' CHECK (status IN ('complete', 'cancelled', 'error')),
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversation_messages_conversation ON conversation_messages (conversation_id, id);
`,
};
