import type { Migration } from '../db/migrate.js';

/**
 * Embeddings: a cache of paid-for vectors and, per library version, which model made its vectors.
 * Only where the vector extension exists (like `chunk_vectors`, migration 2); elsewhere the
 * server runs lexical-only and this migration is retried at the next start.
 */
export const EMBEDDINGS_MIGRATION: Migration = {
  version: 8,
  name: 'embedding cache and per-version embedding models',
  requiresExtension: 'vector',
  sql: /* sql */ `
-- Vectors are ~6 KB (1,536 floats): EXTERNAL stores them out of line without trying pglz first,
-- which never shrinks float noise and cost 20-35 % of insert time in PGlite (measured here).
ALTER TABLE chunk_vectors ALTER COLUMN embedding SET STORAGE EXTERNAL;

-- Keyed by the SHA-256 of the exact text sent, the model and the dimension asked for, so
-- re-indexing unchanged text costs nothing. Private libraries' vectors are cached per owner
-- (null = public): an account's data can be purged with its account, and no owner's vectors are
-- reused for another's. Vectors are stored unit length.
CREATE TABLE embedding_cache (
  owner_account text,
  model         text NOT NULL,
  dimensions    integer NOT NULL,
  content_hash  text NOT NULL,
  embedding     vector NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT embedding_cache_key UNIQUE NULLS NOT DISTINCT (owner_account, model, dimensions, content_hash)
);
ALTER TABLE embedding_cache ALTER COLUMN embedding SET STORAGE EXTERNAL;

-- One row per embedded library version: the model and dimension of all its chunk_vectors rows
-- (a query compares only vectors of the model it embedded the question with), and what it cost.
CREATE TABLE version_embeddings (
  version_id    bigint PRIMARY KEY REFERENCES library_versions(id) ON DELETE CASCADE,
  provider      text NOT NULL,
  model         text NOT NULL,
  dimensions    integer NOT NULL,
  vectors       integer NOT NULL,   -- chunk vectors stored
  cached        integer NOT NULL,   -- of which came from embedding_cache
  tokens        bigint NOT NULL,    -- tokens billed by the provider for this version
  cost_usd      double precision NOT NULL DEFAULT 0,
  requests      integer NOT NULL DEFAULT 0,
  retries       integer NOT NULL DEFAULT 0,
  elapsed_ms    integer NOT NULL DEFAULT 0,
  embedded_at   timestamptz NOT NULL DEFAULT now()
);
`,
};
