/**
 * What a page is about in time: most questions ask how a library works now, and release notes,
 * changelogs, blog posts and version migration guides mention nearly every API in passing, so
 * they outrank the reference page that explains it. They are demoted unless the question itself
 * asks about versions or changes ("which version added", "deprecated", "upgrade").
 */

export const PAGE_KIND = { current: 0, history: 1 } as const;
export type PageKind = (typeof PAGE_KIND)[keyof typeof PAGE_KIND];

// Release notes, changelogs, blogs and news: dated writing about changes.
const HISTORY_PATH =
  /(^|\/)(changelog|changes|release[-_ ]?notes|releases|blog|news)(\/|\.|[-_ ]|$)/i;
const HISTORY_TITLE = /^(release notes|changelog|what'?s new|announcing\b|introducing\b)/i;
// Version migration guides name the version they move to or from ("V4 Migration Guide",
// "Upgrade to Express v5", "Migrating to React Query 3"); "Migrate from Bun" or a database
// migrations chapter does not.
const MIGRATION = /\b(migrat(e|ing|ion)|upgrad(e|ing))\b/i;
const VERSION_NUMBER = /\bv?\d+(\.\d+)*\b|\bv\d/i;

/** Classifies a page by its path and title. */
export function pageKind(path: string, title: string): PageKind {
  if (HISTORY_PATH.test(path) || HISTORY_TITLE.test(title.trim())) return PAGE_KIND.history;
  const name = path.split('/').pop() ?? '';
  const words = `${name.replace(/[-_]+/g, ' ')} ${title}`;
  if (MIGRATION.test(words) && VERSION_NUMBER.test(words)) return PAGE_KIND.history;
  return PAGE_KIND.current;
}

// A bare version number ("express 5", "zod v3") usually picks the library version, not the topic,
// so it is not on this list.
const CHANGE_INTENT =
  /\b(versions?|releases?d?|changelog|what'?s new|new in|added|introduc\w*|upgrad\w*|migrat\w*|deprecat\w*|breaking|renamed|removed|no longer|replac\w*|since|changed?)\b/i;

/** True when a question asks about versions or changes, so history pages keep their rank. */
export function asksAboutChanges(question: string): boolean {
  return CHANGE_INTENT.test(question);
}
