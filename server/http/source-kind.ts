/**
 * Remote sources are fetched from the network; everything else (plain paths, `file://`, drive
 * letters) reads the server's disk and therefore needs a trusted local caller.
 */
const REMOTE_URL = /^(https?|ssh|git):\/\//i;
// scp-like git syntax: git@github.com:owner/repo.git
const SCP_LIKE = /^[\w.-]+@[\w.-]+:(?!\/\/)/;

/** True when the source would read the local file system. */
export function isLocalSource(source: string): boolean {
  const s = source.trim();
  return !(REMOTE_URL.test(s) || SCP_LIKE.test(s));
}
