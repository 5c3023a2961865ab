/**
 * Round trips over the wire, as agents and the extension see them: query-docs through the MCP
 * SDK's client over Streamable HTTP, and GET /api/v1/context, both against the real Fastify app
 * on a loopback socket.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { loadConfig } from '../server/config.js';
import type { Engine } from '../server/engine-types.js';
import { buildApp } from '../server/http/app.js';

export interface WireLatencies {
  mcp: number[];
  rest: number[];
}

export async function measureWire(
  engine: Engine,
  targets: { id: string; query: string }[],
  passes: number,
  tokens: number,
): Promise<WireLatencies> {
  const config = loadConfig({ TWINMCP_LOG_LEVEL: 'silent' });
  const app = await buildApp({ engine, config, boundHost: '127.0.0.1', logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const client = new Client({ name: 'twinmcp-bench', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
  const out: WireLatencies = { mcp: [], rest: [] };
  try {
    for (let pass = 0; pass <= passes; pass++) {
      for (const t of targets) {
        let t0 = performance.now();
        await client.callTool({
          name: 'query-docs',
          arguments: { libraryId: t.id, query: t.query, tokens },
        });
        const mcp = performance.now() - t0;
        const url = `${base}/api/v1/context?libraryId=${encodeURIComponent(t.id)}&query=${encodeURIComponent(t.query)}&tokens=${tokens}`;
        t0 = performance.now();
        await (await fetch(url)).text();
        const rest = performance.now() - t0;
        // Pass 0 warms the indexes and connections; it is not counted.
        if (pass > 0) {
          out.mcp.push(mcp);
          out.rest.push(rest);
        }
      }
    }
  } finally {
    await client.close();
    await app.close();
  }
  return out;
}
