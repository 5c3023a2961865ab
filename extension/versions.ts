/** Which stored version of a library a workspace's locked version means. Pure (unit-tested). */

/**
 * Which of a library's stored versions a locked version means: exact, then major.minor, then
 * major (the server's rule for ranges, so a workspace on zod 3.23.8 gets the `v3` docs).
 */
export function storedVersionFor(locked: string, stored: string[]): string | undefined {
  const norm = (v: string) =>
    v
      .trim()
      .toLowerCase()
      .replace(/^v(?=\d)/, '')
      .replace(/(\.x|\.\*)+$/, '');
  const m = /(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(locked);
  if (!m) return undefined;
  const wanted = [m[0], m[2] !== undefined ? `${m[1]}.${m[2]}` : undefined, m[1]].filter(
    (w): w is string => w !== undefined,
  );
  for (const w of wanted) {
    const hit = stored.find((s) => norm(s) === w);
    if (hit) return hit;
  }
  // `3` also matches a stored `3.23.1` by prefix, the newest listed first by the server.
  return stored.find((s) => norm(s).startsWith(`${m[1]}.`));
}
