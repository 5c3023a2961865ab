/**
 * The MCP server definition provider: VS Code (Copilot agent mode) gets TwinMCP's tools over
 * Streamable HTTP at `<server>/mcp`. The key goes in at resolve time only, and the workspace's
 * dependency versions ride along so query-docs answers for the versions in use.
 */
import * as vscode from 'vscode';
import { depsHeader, WORKSPACE_DEPS_HEADER } from './deps-header.js';
import type { Services } from './services.js';
import type { WorkspaceDeps } from './workspace-deps.js';

export const MCP_PROVIDER_ID = 'twinmcp.mcp';
export function registerMcpProvider(
  context: vscode.ExtensionContext,
  services: Services,
  deps: WorkspaceDeps,
): void {
  if (!vscode.lm?.registerMcpServerDefinitionProvider) return; // hosts older than 1.101
  const changed = new vscode.EventEmitter<void>();
  let generation = 0;
  const bump = () => {
    generation++;
    changed.fire();
  };
  context.subscriptions.push(
    changed,
    services.onDidChangeConnection(bump),
    deps.onDidChange(bump),
    vscode.lm.registerMcpServerDefinitionProvider(MCP_PROVIDER_ID, {
      onDidChangeMcpServerDefinitions: changed.event,
      provideMcpServerDefinitions: () => {
        const uri = vscode.Uri.parse(`${services.serverUrl()}/mcp`);
        // The version string changes with every event, so VS Code restarts the server and refetches tools.
        return [
          new vscode.McpHttpServerDefinition(
            'TwinMCP',
            uri,
            {},
            `${context.extension.packageJSON.version}+${generation}`,
          ),
        ];
      },
      resolveMcpServerDefinition: async (server) => {
        if (!(server instanceof vscode.McpHttpServerDefinition)) return server;
        const headers: Record<string, string> = { ...server.headers };
        const key = await services.key();
        if (key) headers.authorization = `Bearer ${key}`;
        const value = depsHeader(await deps.record());
        if (value) headers[WORKSPACE_DEPS_HEADER] = value;
        server.headers = headers;
        return server;
      },
    }),
  );
}
