/** Library ids: `/owner/name`, optionally with a version as `/owner/name/v4` or `/owner/name@v4`. */
export const LIBRARY_ID_PATTERN = /^\/([^/@\s]+)\/([^/@\s]+)(?:[/@]([^/@\s]+))?$/;

export interface ParsedLibraryId {
  /** `/owner/name` */
  libraryId: string;
  owner: string;
  name: string;
  /** The version part, when given (e.g. `v4`). */
  version?: string;
}

export function parseLibraryId(raw: string): ParsedLibraryId | undefined {
  const m = LIBRARY_ID_PATTERN.exec(raw.trim());
  if (!m) return undefined;
  const [, owner, name, version] = m as unknown as [string, string, string, string | undefined];
  return { libraryId: `/${owner}/${name}`, owner, name, ...(version ? { version } : {}) };
}

export function formatLibraryId(libraryId: string, version?: string | null): string {
  return version ? `${libraryId}/${version}` : libraryId;
}
