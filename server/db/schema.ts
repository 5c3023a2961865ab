import { ACCOUNTS_MIGRATION } from '../accounts/schema.js';
import { ACCOUNTS_EXTRAS_MIGRATION } from '../accounts/schema-extras.js';
import { CHAT_MIGRATION } from '../chat/schema.js';
import { BILLING_MIGRATION } from '../billing/schema.js';
import { SIGNIN_MIGRATION } from '../accounts/schema-signin.js';
import { PRIVACY_MIGRATION } from '../accounts/schema-privacy.js';
import { EMBEDDINGS_MIGRATION } from '../embeddings/schema.js';
import { JOBS_MIGRATION } from '../jobs/schema.js';
import { SOURCES_MIGRATION } from '../indexing/sources/schema.js';
import type { Migration } from './migrate.js';

/**
 * The schema, as ordered migrations. PostgreSQL 15 features only (the oldest server we support);
 * PGlite runs PostgreSQL 18 and accepts all of it.
 *
 * Every table that holds user-visible data carries `owner_account` (null = public) from the first
 * migration, so private data can be isolated without a rewrite.
 */
export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'libraries, versions, pages, chunks, jobs, usage',
    sql: /* sql */ `
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- English stemming without the stop-word list: in documentation questions "before", "after",
-- "without", "between" and "only" carry meaning (preHandler runs *before* the handler). BM25's
-- IDF already makes "the" and "of" count for next to nothing.
CREATE TEXT SEARCH DICTIONARY twinmcp_english_stem (TEMPLATE = snowball, Language = english);
CREATE TEXT SEARCH CONFIGURATION twinmcp_docs (COPY = english);
ALTER TEXT SEARCH CONFIGURATION twinmcp_docs
  ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
  WITH twinmcp_english_stem;

CREATE TABLE libraries (
  id            text PRIMARY KEY,              -- '/owner/name'
  owner_account text,                          -- null = public
  title         text NOT NULL,
  description   text NOT NULL DEFAULT '',
  -- Names this library is known by, derived from its sources (package names, repo name, titles).
  aliases       text[] NOT NULL DEFAULT '{}',
  -- Lower-cased id, title and aliases in one string, for trigram (typo-tolerant) name matching.
  names         text NOT NULL DEFAULT '',
  source        jsonb NOT NULL DEFAULT '{}',
  trust_score   real NOT NULL DEFAULT 5,
  -- What resolve matches descriptions against: title, aliases, description, page titles.
  profile_tsv   tsvector NOT NULL DEFAULT ''::tsvector,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX libraries_names_trgm ON libraries USING gin (names gin_trgm_ops);
CREATE INDEX libraries_profile ON libraries USING gin (profile_tsv);
CREATE INDEX libraries_owner ON libraries (owner_account);

-- One row per indexing of one version. A re-index writes a new row in state 'indexing' and swaps
-- it in when complete ('ready'), so the previous row serves until then.
CREATE TABLE library_versions (
  id            bigserial PRIMARY KEY,
  library_id    text NOT NULL REFERENCES libraries(id) ON DELETE CASCADE,
  version       text NOT NULL DEFAULT '',      -- '' = the unversioned default
  is_latest     boolean NOT NULL DEFAULT false,
  state         text NOT NULL CHECK (state IN ('indexing', 'ready', 'failed', 'superseded')),
  error         text,
  page_count    integer NOT NULL DEFAULT 0,
  snippet_count integer NOT NULL DEFAULT 0,
  token_count   bigint NOT NULL DEFAULT 0,
  avg_length    real NOT NULL DEFAULT 0,
  source        jsonb NOT NULL DEFAULT '{}',
  job_id        text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  indexed_at    timestamptz
);
CREATE UNIQUE INDEX library_versions_serving ON library_versions (library_id, version) WHERE state = 'ready';
CREATE INDEX library_versions_library ON library_versions (library_id);

CREATE TABLE pages (
  id            bigserial PRIMARY KEY,
  version_id    bigint NOT NULL REFERENCES library_versions(id) ON DELETE CASCADE,
  path          text NOT NULL,
  url           text,
  title         text NOT NULL,
  content_hash  text NOT NULL,
  etag          text,
  last_modified text,
  UNIQUE (version_id, path)
);

CREATE TABLE chunks (
  id            bigserial PRIMARY KEY,
  version_id    bigint NOT NULL REFERENCES library_versions(id) ON DELETE CASCADE,
  page_id       bigint NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
  ordinal       integer NOT NULL,
  title         text NOT NULL,
  breadcrumb    text[] NOT NULL,
  anchor        text NOT NULL DEFAULT '',
  content       text NOT NULL,
  code          jsonb NOT NULL DEFAULT '[]',
  tokens        integer NOT NULL,
  content_hash  text NOT NULL,
  -- Weighted lexemes: A title, B breadcrumb, C code identifiers, D body (see server/search/text.ts).
  tsv           tsvector NOT NULL,
  UNIQUE (version_id, content_hash)
);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
CREATE INDEX chunks_version_page ON chunks (version_id, page_id, ordinal);

CREATE TABLE jobs (
  id            text PRIMARY KEY,
  kind          text NOT NULL,
  owner_account text,
  library_id    text,
  version       text,
  payload       jsonb NOT NULL DEFAULT '{}',
  state         text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  attempts      integer NOT NULL DEFAULT 0,
  max_attempts  integer NOT NULL DEFAULT 3,
  run_after     timestamptz NOT NULL DEFAULT now(),
  lease_owner   text,
  lease_until   timestamptz,
  heartbeat_at  timestamptz,
  progress      jsonb,
  error         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz
);
CREATE INDEX jobs_claimable ON jobs (run_after) WHERE state IN ('queued', 'running');

CREATE TABLE usage_events (
  id            bigserial PRIMARY KEY,
  at            timestamptz NOT NULL DEFAULT now(),
  owner_account text,
  client        text NOT NULL,
  kind          text NOT NULL,                 -- 'resolve' | 'query'
  library_id    text,
  query         text,
  latency_ms    real NOT NULL,
  tokens        integer NOT NULL DEFAULT 0,
  result_count  integer NOT NULL DEFAULT 0,
  zero_result   boolean NOT NULL DEFAULT false,
  meta          jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX usage_events_at ON usage_events (at);
CREATE INDEX usage_events_owner_at ON usage_events (owner_account, at);
`,
  },
  {
    version: 2,
    name: 'chunk vectors (only where the vector extension exists)',
    requiresExtension: 'vector',
    sql: /* sql */ `
-- Untyped dimension: the model (and so the dimension) is recorded per row and per library version,
-- and a query compares only vectors of one model. query-docs scans one version, so no ANN index yet.
CREATE TABLE chunk_vectors (
  chunk_id      bigint PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
  version_id    bigint NOT NULL REFERENCES library_versions(id) ON DELETE CASCADE,
  model         text NOT NULL,
  embedding     vector NOT NULL
);
CREATE INDEX chunk_vectors_version ON chunk_vectors (version_id, model);
`,
  },
  // Later migrations live beside the area that owns their tables.
  ACCOUNTS_MIGRATION,
  CHAT_MIGRATION,
  ACCOUNTS_EXTRAS_MIGRATION,
  BILLING_MIGRATION,
  SOURCES_MIGRATION,
  SIGNIN_MIGRATION,
  EMBEDDINGS_MIGRATION,
  PRIVACY_MIGRATION,
  JOBS_MIGRATION,
];
