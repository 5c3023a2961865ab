import type { Queryable } from '../db/db.js';
import { LexicalIndex } from './lexical-index.js';
import { findServingVersion } from './versions.js';

/** Keeps recently used indexes under a bound on their total entries (~12 bytes each). */
export class IndexCache {
  private readonly entries = new Map<number, Promise<LexicalIndex>>();
  private readonly sizes = new Map<number, number>();
  constructor(private readonly maxEntries = 8_000_000) {}

  get(versionId: number, load: () => Promise<LexicalIndex>): Promise<LexicalIndex> {
    const hit = this.entries.get(versionId);
    if (hit) {
      this.entries.delete(versionId);
      this.entries.set(versionId, hit);
      return hit;
    }
    const pending = load().then(
      (index) => {
        this.sizes.set(versionId, index.size);
        this.evict();
        return index;
      },
      (err: unknown) => {
        this.entries.delete(versionId);
        throw err;
      },
    );
    this.entries.set(versionId, pending);
    return pending;
  }

  drop(versionId: number): void {
    this.entries.delete(versionId);
    this.sizes.delete(versionId);
  }

  private evict(): void {
    let total = [...this.sizes.values()].reduce((a, b) => a + b, 0);
    for (const id of this.entries.keys()) {
      if (total <= this.maxEntries || this.entries.size <= 1) break;
      total -= this.sizes.get(id) ?? 0;
      this.drop(id);
    }
  }
}

/**
 * Loads a library's serving index in the background: a query-docs (an agent's next call, or an
 * editor hover) usually follows a resolve, and loading is most of a cold query (~100-200 ms for
 * a 3k-chunk version). Failures are ignored: the query itself reports them.
 */
export function warmIndex(
  db: Queryable,
  cache: IndexCache,
  libraryId: string | undefined,
  owner: string | null | undefined,
): void {
  if (!libraryId) return;
  void findServingVersion(db, libraryId, owner)
    .then((v) => cache.get(v.versionId, () => LexicalIndex.load(db, v.versionId)))
    .catch(() => {});
}
