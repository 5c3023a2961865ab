/**
 * Who may see a library: public rows (`owner_account IS NULL`) are visible to everyone, a private
 * row only to its owner. An `owner` of `undefined` is a trusted local caller (auth off, the CLI,
 * the local admin token) and sees everything; `null` is an anonymous caller (public only).
 */
import type { Queryable } from '../db/db.js';

/** Two SQL parameters for `visibleSql`: [sees everything, owner account or null]. */
export function visibilityParams(owner: string | null | undefined): [boolean, string | null] {
  return [owner === undefined, owner ?? null];
}

/**
 * A SQL condition on `<alias>.owner_account` using parameters `$first` and `$first+1`, bound with
 * `visibilityParams(owner)`.
 */
export function visibleSql(alias: string, first: number): string {
  const col = alias ? `${alias}.owner_account` : 'owner_account';
  return `($${first}::boolean OR ${col} IS NULL OR ${col} = $${first + 1}::text)`;
}

/** Whether a job may be shown to `owner` (same rule as libraries); false when there is no such job. */
export async function jobVisible(
  db: Queryable,
  jobId: string,
  owner: string | null | undefined,
): Promise<boolean> {
  const rows = await db.query<{ owner_account: string | null }>(
    'SELECT owner_account FROM jobs WHERE id = $1',
    [jobId],
  );
  const row = rows[0];
  return (
    !!row && (owner === undefined || row.owner_account === null || row.owner_account === owner)
  );
}
