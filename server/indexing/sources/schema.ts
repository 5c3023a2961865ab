import type { Migration } from '../../db/migrate.js';
import { PAGE_FLAGS_SQL } from '../screen-store.js';

/**
 * Migration 7, sources and freshness: the tables the website, npm and refresh areas need. Each
 * part keeps its SQL beside its code; this assembles them in one versioned step.
 */
export const SOURCES_MIGRATION: Migration = {
  version: 7,
  name: 'sources: page flags',
  sql: PAGE_FLAGS_SQL,
};
