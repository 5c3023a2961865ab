import type { Migration } from '../db/migrate.js';

/**
 * Jobs that can be cancelled across processes and resumed after a crash: a cancel flag the
 * running worker's heartbeat reads, the links of each stored website page (a resumed crawl follows
 * them without fetching the page again), and the lookup of a job's staging version.
 */
export const JOBS_MIGRATION: Migration = {
  version: 11,
  name: 'jobs: cancel, retries, resume',
  sql: /* sql */ `
ALTER TABLE jobs ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;
-- In-scope links found on a crawled page: the crawl checkpoint of a staging version.
ALTER TABLE pages ADD COLUMN links jsonb;
CREATE INDEX library_versions_job ON library_versions (job_id) WHERE state = 'indexing';
CREATE INDEX jobs_owner_created ON jobs (owner_account, created_at);
`,
};
