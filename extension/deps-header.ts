/** The workspace-dependencies header the MCP definition carries. Pure (unit-tested). */

/**
 * shared/mcp.ts WORKSPACE_DEPS_HEADER, repeated because importing that module bundles zod (~250 KB
 * that every activation would parse); a unit test checks the two agree.
 */
export const WORKSPACE_DEPS_HEADER = 'x-twinmcp-workspace-deps';
// The header limit on the server is 64 KB; 48 KB leaves room for the other headers of the request.
const MAX_DEPS_HEADER_BYTES = 48 * 1024;

// The server ignores a header listing more than 2000 packages (shared/mcp.ts WorkspaceDeps).
const MAX_DEPS_HEADER_ENTRIES = 2000;

/**
 * The header value: printable ASCII only (HTTP header values), at most 2000 packages, dropping
 * entries from the end until it fits the size limit; undefined when there is nothing to send.
 */
export function depsHeader(deps: Record<string, string>): string | undefined {
  let entries = Object.entries(deps)
    .filter(([name, version]) => /^[\x20-\x7e]+$/.test(name + version))
    .slice(0, MAX_DEPS_HEADER_ENTRIES);
  if (entries.length === 0) return undefined;
  let value = JSON.stringify(Object.fromEntries(entries));
  while (value.length > MAX_DEPS_HEADER_BYTES && entries.length > 0) {
    entries = entries.slice(0, Math.floor(entries.length * 0.8));
    value = JSON.stringify(Object.fromEntries(entries));
  }
  return value;
}
