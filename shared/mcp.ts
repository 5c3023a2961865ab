/**
 * MCP wire contract: the tool names, their input schemas and the argument-name aliases models send
 * (see ../shared/notes/mcp-contract.md). Shapes follow Context7's tools so that prompts and rule
 * files written for it work unchanged.
 */
import { z } from 'zod';

/** Longest `libraryName` / `query` accepted, as Context7. */
export const MAX_TEXT_LENGTH = 500;

/** Request header carrying the workspace's dependency versions (JSON object name -> version). */
export const WORKSPACE_DEPS_HEADER = 'x-twinmcp-workspace-deps';

/** The URI of the library list resource. */
export const LIBRARIES_RESOURCE_URI = 'twinmcp://libraries';

export const TOOL_NAMES = ['resolve-library-id', 'query-docs', 'get-library-docs'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

// Zod calls these for a missing or mistyped field; the SDK appends " at <field>".
function required(what: string): z.core.$ZodErrorMap {
  return (issue) =>
    issue.input === undefined ? `required: ${what}` : `expected ${what}, got ${typeof issue.input}`;
}

const libraryIdField = (name: string) =>
  z
    .string({ error: required('a library id like /vercel/next.js (from resolve-library-id)') })
    .trim()
    .min(1, `${name} must not be empty`)
    .max(300);

const queryField = z
  .string({ error: required('a text question') })
  .trim()
  .min(1, 'query must not be empty')
  .max(MAX_TEXT_LENGTH, `at most ${MAX_TEXT_LENGTH} characters; ask about one concept`);

// Models send "5000" as often as 5000; both mean a number. "abc" becomes NaN and is refused.
const tokensField = z.coerce
  .number({ error: 'expected a number of tokens, e.g. 5000' })
  .int('expected a whole number of tokens, e.g. 5000')
  .optional()
  .describe(
    'Most tokens of documentation to return (default 5000; values below 1000 are raised to 1000).',
  );

export const ResolveLibraryIdShape = {
  libraryName: z
    .string({ error: required('a library name such as "Next.js"') })
    .trim()
    .min(1, 'libraryName must not be empty')
    .max(MAX_TEXT_LENGTH, `at most ${MAX_TEXT_LENGTH} characters`)
    .describe(
      'Library name to search for, as the user wrote it or its official name (e.g. "Next.js", "fastify").',
    ),
  query: z
    .string({ error: required("the user's question as text") })
    .max(MAX_TEXT_LENGTH, `at most ${MAX_TEXT_LENGTH} characters`)
    .optional()
    .describe("The user's question or task, used to rank the matching libraries by relevance."),
};

export const QueryDocsShape = {
  libraryId: libraryIdField('libraryId').describe(
    'Exact library id from resolve-library-id or given by the user, e.g. /vercel/next.js or /vercel/next.js/v14.3.0.',
  ),
  query: queryField.describe(
    'The question or task to find documentation for; one concept per call, specific beats generic.',
  ),
  tokens: tokensField,
};

export const GetLibraryDocsShape = {
  context7CompatibleLibraryID: libraryIdField('context7CompatibleLibraryID').describe(
    'Exact library id from resolve-library-id, e.g. /vercel/next.js.',
  ),
  topic: z
    .string({ error: required('a topic as text') })
    .max(MAX_TEXT_LENGTH, `at most ${MAX_TEXT_LENGTH} characters`)
    .optional()
    .describe('Topic to focus the documentation on, e.g. "routing" or "hooks".'),
  tokens: tokensField,
};

/** For each tool: canonical argument name -> the other names models use for it. */
export const ARGUMENT_ALIASES: Record<ToolName, Record<string, readonly string[]>> = {
  'resolve-library-id': { query: ['userQuery', 'question', 'topic'] },
  'query-docs': {
    libraryId: ['context7CompatibleLibraryID', 'libraryID', 'library_id', 'libraryName'],
    query: ['userQuery', 'question', 'topic'],
  },
  'get-library-docs': {
    context7CompatibleLibraryID: ['libraryId', 'libraryID', 'library_id'],
    topic: ['query', 'userQuery', 'question'],
  },
};

export function isToolName(name: unknown): name is ToolName {
  return typeof name === 'string' && (TOOL_NAMES as readonly string[]).includes(name);
}

/**
 * Moves aliased arguments to their canonical names; a canonical name already present wins.
 * Anything that is not a plain object is returned as is, for validation to refuse.
 */
export function mapArgumentAliases(tool: ToolName, args: unknown): unknown {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return args;
  const out: Record<string, unknown> = { ...(args as Record<string, unknown>) };
  for (const [canonical, aliases] of Object.entries(ARGUMENT_ALIASES[tool])) {
    for (const alias of aliases) {
      if (!(alias in out)) continue;
      if (out[canonical] === undefined) out[canonical] = out[alias];
      delete out[alias];
    }
  }
  return out;
}

/** The full input validation of each tool, aliases first (for callers outside the MCP SDK). */
export const ToolArgs = {
  'resolve-library-id': z.preprocess(
    (a) => mapArgumentAliases('resolve-library-id', a),
    z.object(ResolveLibraryIdShape),
  ),
  'query-docs': z.preprocess((a) => mapArgumentAliases('query-docs', a), z.object(QueryDocsShape)),
  'get-library-docs': z.preprocess(
    (a) => mapArgumentAliases('get-library-docs', a),
    z.object(GetLibraryDocsShape),
  ),
};
export type ResolveLibraryIdArgs = z.infer<(typeof ToolArgs)['resolve-library-id']>;
export type QueryDocsArgs = z.infer<(typeof ToolArgs)['query-docs']>;
export type GetLibraryDocsArgs = z.infer<(typeof ToolArgs)['get-library-docs']>;

/** Value of WORKSPACE_DEPS_HEADER: package name -> version or range. */
export const WorkspaceDeps = z
  .record(z.string().min(1).max(214), z.string().max(100))
  .refine((deps) => Object.keys(deps).length <= 2000, 'at most 2000 packages');
export type WorkspaceDeps = z.infer<typeof WorkspaceDeps>;

/** Parses the header value; a missing, malformed or oversized value is ignored (undefined). */
export function parseWorkspaceDeps(header: string | undefined): WorkspaceDeps | undefined {
  if (!header || header.length > 64 * 1024) return undefined;
  try {
    const parsed = WorkspaceDeps.safeParse(JSON.parse(header));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
