/**
 * MCP over Streamable HTTP at `/mcp`, stateless: every POST gets a fresh server and transport,
 * so any instance behind a load balancer can answer any request and nothing outlives a request.
 * The root's localhost safety (Host and Origin checks) runs before these routes.
 */
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { parseWorkspaceDeps, WORKSPACE_DEPS_HEADER } from '../../shared/mcp.js';
import { callContext } from '../http/auth.js';
import { connectMcpServer, createMcpServer } from './server.js';

/** A tools/call request is a few hundred bytes; 1 MiB leaves room for batches and long ids. */
export const MCP_BODY_LIMIT = 1024 * 1024;

// JSON-RPC's implementation-defined server error; the SDK answers its own 405s with it too.
const SERVER_ERROR = -32000;

export interface McpRoutesOptions {
  /** Per tool call; default 10 s. */
  timeoutMs?: number;
}

/** Registers `POST /mcp` (and 405 for GET/DELETE); uses the root's `engine` decoration. */
export default async function mcpRoutes(
  app: FastifyInstance,
  opts: McpRoutesOptions = {},
): Promise<void> {
  // Errors before the SDK sees the body (bad JSON, too large) still answer in JSON-RPC.
  app.setErrorHandler(
    (err: { code?: string; statusCode?: number; message?: string }, req, reply) => {
      const code = err.code ?? '';
      if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return jsonRpcError(reply, 413, ErrorCode.InvalidRequest, 'Request body larger than 1 MiB');
      }
      if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        return jsonRpcError(
          reply,
          415,
          ErrorCode.InvalidRequest,
          'Content-Type must be application/json',
        );
      }
      if (err instanceof SyntaxError || code.startsWith('FST_ERR_CTP_') || err.statusCode === 400) {
        return jsonRpcError(
          reply,
          400,
          ErrorCode.ParseError,
          `Parse error: ${err.message ?? ''}`.trim(),
        );
      }
      req.log.error({ err }, 'MCP request failed');
      return jsonRpcError(reply, 500, ErrorCode.InternalError, 'Internal server error');
    },
  );

  app.post('/mcp', { bodyLimit: MCP_BODY_LIMIT }, async (request, reply) => {
    const header = request.headers[WORKSPACE_DEPS_HEADER];
    const workspaceDeps = parseWorkspaceDeps(Array.isArray(header) ? header[0] : header);
    const { owner } = callContext(request, 'mcp');
    const server = createMcpServer({
      engine: app.engine,
      ...(owner !== undefined ? { owner } : {}),
      ...(workspaceDeps ? { workspaceDeps } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      // No server-initiated messages, so plain JSON answers; clients accept both.
      enableJsonResponse: true,
    });
    reply.raw.on('close', () => {
      void transport.close();
      void server.close();
    });
    await connectMcpServer(server, transport);
    // From here the SDK writes the response on the raw socket.
    reply.hijack();
    try {
      await transport.handleRequest(request.raw, reply.raw, request.body);
    } catch (err) {
      request.log.error({ err }, 'MCP transport failed');
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { 'content-type': 'application/json' });
        reply.raw.end(rpcErrorBody(ErrorCode.InternalError, 'Internal server error'));
      }
    }
  });

  // Stateless: there is no session to stream to (GET) or to end (DELETE).
  const notAllowed = async (_req: unknown, reply: FastifyReply) =>
    jsonRpcError(
      reply.header('allow', 'POST'),
      405,
      SERVER_ERROR,
      'Method not allowed: this MCP server is stateless; use POST.',
    );
  app.get('/mcp', notAllowed);
  app.delete('/mcp', notAllowed);
}

function rpcErrorBody(code: number, message: string): string {
  return JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null });
}

function jsonRpcError(
  reply: FastifyReply,
  status: number,
  code: number,
  message: string,
): FastifyReply {
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send(rpcErrorBody(code, message));
}
