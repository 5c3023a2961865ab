/**
 * The one MCP server factory: `createMcpServer` serves stdio and Streamable HTTP alike; the
 * transports only connect it (always through `connectMcpServer`, which maps argument aliases).
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isJSONRPCRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import {
  GetLibraryDocsShape,
  isToolName,
  LIBRARIES_RESOURCE_URI,
  mapArgumentAliases,
  QueryDocsShape,
  ResolveLibraryIdShape,
} from '../../shared/mcp.js';
import { VERSION } from '../config.js';
import type { CallContext } from '../engine-types.js';
import {
  DEFAULT_TOOL_TIMEOUT_MS,
  getLibraryDocs,
  queryDocs,
  resolveLibraryId,
  type McpEngine,
  type ToolContext,
} from './tools.js';

export type { McpEngine } from './tools.js';

export interface McpServerDeps {
  engine: McpEngine;
  /** Recorded with every call as the usage event's client; default `mcp`. */
  client?: CallContext['client'];
  /** The caller's workspace dependency versions, passed on to the engine. */
  workspaceDeps?: Record<string, string>;
  /** Per tool call; default 10 s. */
  timeoutMs?: number;
  /** The caller's account (null = anonymous); absent = trusted, sees every library. */
  owner?: string | null;
}

const READ_ONLY = { readOnlyHint: true, idempotentHint: true, openWorldHint: true } as const;

const INSTRUCTIONS =
  'TwinMCP gives current, version-exact documentation for libraries. Call resolve-library-id to ' +
  'get a library id, then query-docs with that id and a specific question.';

/** A server with the tools and the library list resource; connect it with `connectMcpServer`. */
export function createMcpServer(deps: McpServerDeps): McpServer {
  const server = new McpServer(
    { name: 'twinmcp', title: 'TwinMCP', version: VERSION },
    { instructions: INSTRUCTIONS },
  );
  const tc: ToolContext = {
    engine: deps.engine,
    ctx: {
      client: deps.client ?? 'mcp',
      ...(deps.workspaceDeps ? { workspaceDeps: deps.workspaceDeps } : {}),
      ...(deps.owner !== undefined ? { owner: deps.owner } : {}),
    },
    timeoutMs: deps.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
  };

  server.registerTool(
    'resolve-library-id',
    {
      title: 'Resolve library id',
      description: [
        'Finds the TwinMCP library id (Context7-compatible, /org/project) for a library name.',
        '',
        'Call this before query-docs to get a valid library id, UNLESS the user gave an id in the ' +
          'form /org/project or /org/project/version: then call query-docs directly.',
        '',
        'Choose the best match by: name similarity (exact first), description relevance to the ' +
          'question, code snippet count (more is better), source reputation (High or Medium ' +
          'preferred) and versions (pick one matching the project when the user names a version).',
        'Say which library id you chose and why. If nothing matches well, say so and suggest a ' +
          'different name. Do not call this tool more than 3 times per question.',
      ].join('\n'),
      inputSchema: ResolveLibraryIdShape,
      annotations: { title: 'Resolve library id', ...READ_ONLY },
    },
    (args) => resolveLibraryId(tc, args),
  );

  server.registerTool(
    'query-docs',
    {
      title: 'Query documentation',
      description: [
        'Returns up-to-date documentation and code examples for a library, as snippets with their ' +
          'source URL.',
        '',
        'You must call resolve-library-id first to get the library id, unless the user gave an id ' +
          'like /org/project or /org/project/version. Use a version id (e.g. /vercel/next.js/v14.3.0) ' +
          'when the project uses that version.',
        'Ask about one concept per call, in specific words (e.g. "add a preHandler hook to a route", ' +
          'not "hooks"). Do not call this tool more than 3 times per question; answer with the ' +
          'best information you have.',
      ].join('\n'),
      inputSchema: QueryDocsShape,
      annotations: { title: 'Query documentation', ...READ_ONLY },
    },
    (args) => queryDocs(tc, args),
  );

  server.registerTool(
    'get-library-docs',
    {
      title: 'Get library docs (deprecated)',
      description:
        'DEPRECATED: use query-docs instead (same result; it takes libraryId and query). Kept for ' +
        'prompts written for older Context7 versions. Fetches documentation for a library id from ' +
        'resolve-library-id, focused on an optional topic.',
      inputSchema: GetLibraryDocsShape,
      annotations: { title: 'Get library docs (deprecated)', ...READ_ONLY },
    },
    (args) => getLibraryDocs(tc, args),
  );

  server.registerResource(
    'libraries',
    LIBRARIES_RESOURCE_URI,
    {
      title: 'Indexed libraries',
      description: 'Every library TwinMCP has indexed, with its id, versions and snippet counts.',
      mimeType: 'application/json',
    },
    async (uri) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: 'application/json',
          text: JSON.stringify({ libraries: await deps.engine.listLibraries(tc.ctx) }, null, 2),
        },
      ],
    }),
  );
  return server;
}

/**
 * Connects `server` to `transport` and maps argument aliases (`userQuery` -> `query`, ...) in
 * every tools/call before the SDK validates it. The SDK lists a tool's schema only when it is a
 * plain object schema (a `z.preprocess` would be listed as `{}`), so the mapping happens here, on
 * the message, and the listed schemas stay canonical.
 */
export async function connectMcpServer(server: McpServer, transport: Transport): Promise<void> {
  await server.connect(transport);
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => deliver?.(withCanonicalArguments(message), extra);
}

/** A tools/call message with its arguments under their canonical names; others unchanged. */
export function withCanonicalArguments(message: JSONRPCMessage): JSONRPCMessage {
  if (!isJSONRPCRequest(message) || message.method !== 'tools/call') return message;
  const params = message.params as { name?: unknown; arguments?: unknown } | undefined;
  if (!params || !isToolName(params.name) || params.arguments === undefined) return message;
  return {
    ...message,
    params: { ...params, arguments: mapArgumentAliases(params.name, params.arguments) },
  };
}
