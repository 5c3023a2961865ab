/**
 * Library chips for the chat: libraries named in the question, else the indexed libraries the
 * workspace depends on (with the locked version). Pure (unit-tested).
 */
import type { LibraryChip } from '../shared/webview-protocol.js';
import { storedVersionFor } from './versions.js';

/** What chip detection needs of a library (from `GET /api/v1/libs`). */
export interface KnownLibrary {
  id: string;
  title: string;
  versions: string[];
}

// More chips than the server searches (4 libraries per question) would only mislead.
export const MAX_CHIPS = 4;

/** Names a library answers to: the id's last segment (`/npm/tanstack__react-query` -> `@tanstack/react-query`) and its title. */
export function libraryNames(lib: KnownLibrary): string[] {
  const segments = lib.id.split('/').filter(Boolean);
  const last = (segments[1] ?? segments[0] ?? '').toLowerCase();
  const names = new Set([last, lib.title.toLowerCase()]);
  if (segments[0] === 'npm' && last.includes('__')) names.add(`@${last.replace('__', '/')}`);
  return [...names].filter((n) => n.length >= 2);
}

const normalize = (s: string) => s.toLowerCase().replace(/\.js$/, '');

/** Library chips for a question being typed; `removed` ids are never suggested again. */
export function suggestChips(
  text: string,
  libraries: KnownLibrary[],
  deps: Map<string, string>,
  removed: ReadonlySet<string> = new Set(),
): LibraryChip[] {
  const words = new Set(
    (text.toLowerCase().match(/@?[a-z0-9][a-z0-9._/-]*/g) ?? []).flatMap((w) => {
      const trimmed = w.replace(/[.,;:!?]+$/, '');
      return [trimmed, normalize(trimmed)];
    }),
  );
  const fromQuestion: LibraryChip[] = [];
  for (const lib of libraries) {
    if (removed.has(lib.id)) continue;
    if (libraryNames(lib).some((n) => words.has(n) || words.has(normalize(n)))) {
      fromQuestion.push(chipFor(lib, deps, 'question'));
    }
  }
  if (fromQuestion.length > 0) return fromQuestion.slice(0, MAX_CHIPS);
  const fromWorkspace: LibraryChip[] = [];
  for (const lib of libraries) {
    if (removed.has(lib.id)) continue;
    if (libraryNames(lib).some((n) => deps.has(n)))
      fromWorkspace.push(chipFor(lib, deps, 'workspace'));
  }
  return fromWorkspace.slice(0, MAX_CHIPS);
}

function chipFor(
  lib: KnownLibrary,
  deps: Map<string, string>,
  origin: LibraryChip['origin'],
): LibraryChip {
  const locked = libraryNames(lib)
    .map((n) => deps.get(n))
    .find((v): v is string => v !== undefined);
  const stored = locked ? storedVersionFor(locked, lib.versions) : undefined;
  const libraryId = stored ? `${lib.id}/${stored}` : lib.id;
  const label = locked ? `${lib.title} ${locked}` : lib.title;
  return { libraryId, label, origin };
}
