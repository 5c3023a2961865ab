/**
 * MCP over stdio, for agents that spawn `twinmcp mcp`. stdout carries only protocol messages, so
 * logs must go to stderr.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Readable, Writable } from 'node:stream';
import { connectMcpServer, createMcpServer, type McpServerDeps } from './server.js';

export interface StdioOptions extends Omit<McpServerDeps, 'engine'> {
  stdin?: Readable;
  stdout?: Writable;
}

/** Serves MCP on stdin/stdout until stdin ends (the agent went away); resolves then. */
export async function runStdio(
  engine: McpServerDeps['engine'],
  opts: StdioOptions = {},
): Promise<void> {
  const { stdin = process.stdin, stdout = process.stdout, ...deps } = opts;
  const server = createMcpServer({ engine, ...deps });
  const transport = new StdioServerTransport(stdin, stdout);
  // The SDK's stdio transport does not watch for end of input; without this we would never exit.
  const ended = new Promise<void>((resolve) => {
    stdin.once('end', resolve);
    stdin.once('close', resolve);
    transport.onclose = resolve;
  });
  await connectMcpServer(server, transport);
  await ended;
  await server.close();
}
