/**
 * `twinmcp mcp --remote URL`: an agent's stdio MCP server that forwards to a hosted TwinMCP with the
 * key from TWINMCP_API_KEY. The hosted side is a real auth-on server on a loopback socket; the
 * agent is the SDK's Client spawning the CLI.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { createAccount } from '../../server/accounts/accounts.js';
import { createApiKey } from '../../server/accounts/keys.js';
import { loadConfig } from '../../server/config.js';
import type { Db } from '../../server/db/db.js';
import { migrate } from '../../server/db/migrate.js';
import { MIGRATIONS } from '../../server/db/schema.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { buildApp } from '../../server/http/app.js';
import { openTestPglite } from '../helpers/backends.js';
import { CLI, ensureBuilt } from '../helpers/built-cli.js';
import { REPO_ROOT } from '../helpers/corpus.js';
import { authEnv, indexAs, writeDocs } from './accounts-helpers.js';

describe('twinmcp mcp --remote (stdio forwarding to a hosted server)', function () {
  this.timeout(180_000);
  let tmp: string;
  let db: Db;
  let engine: TwinEngine;
  let app: FastifyInstance;
  let base: string;
  let key: string;
  let accountId: string;

  before(async () => {
    ensureBuilt();
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-mcp-remote-'));
    db = await openTestPglite();
    await migrate(db, MIGRATIONS);
    engine = await createEngine({ config: { dataDir: join(tmp, 'data') }, db, worker: true });
    const account = await createAccount(db, { email: 'agent@example.com' });
    accountId = account.id;
    key = (await createApiKey(db, account.id, { name: 'agent' })).key;
    writeDocs(join(tmp, 'docs'), 'Wombatkit', 'caching');
    await indexAs(engine, join(tmp, 'docs'), '/oss/wombatkit', 'Wombatkit', null);
    app = await buildApp({ engine, config: loadConfig(authEnv(tmp, {})) });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await app?.close();
    await engine?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function connect(apiKey: string | undefined): Promise<Client> {
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      // A data directory nobody uses: forwarding must not open or lock a local store.
      TWINMCP_DATA_DIR: join(tmp, 'unused'),
      TWINMCP_LOG_LEVEL: 'error',
    };
    delete env.TWINMCP_API_KEY;
    if (apiKey !== undefined) env.TWINMCP_API_KEY = apiKey;
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'mcp', '--remote', base],
      cwd: REPO_ROOT,
      env,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'remote-test', version: '1.0.0' });
    await client.connect(transport);
    return client;
  }

  const text = (r: CallToolResult) =>
    r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

  it('answers both tools with the key from TWINMCP_API_KEY and records MCP usage for the account', async () => {
    const client = await connect(key);
    try {
      const resolved = (await client.callTool({
        name: 'resolve-library-id',
        arguments: { libraryName: 'wombatkit', query: 'caching' },
      })) as CallToolResult;
      assert.notEqual(resolved.isError, true, text(resolved));
      assert.match(text(resolved), /\/oss\/wombatkit/);
      const docs = (await client.callTool({
        name: 'query-docs',
        arguments: { libraryId: '/oss/wombatkit', query: 'retry caching on failure' },
      })) as CallToolResult;
      assert.notEqual(docs.isError, true, text(docs));
      assert.match(text(docs), /three attempts/);
    } finally {
      await client.close();
    }
    await engine.usage.flush();
    const rows = await db.query<{ client: string; kind: string }>(
      'SELECT client, kind FROM usage_events WHERE owner_account = $1 ORDER BY id',
      [accountId],
    );
    assert.deepEqual(
      rows.map((r) => `${r.client}:${r.kind}`),
      ['mcp:resolve', 'mcp:query'],
    );
    assert.equal(
      (await import('node:fs')).existsSync(join(tmp, 'unused')),
      false,
      'no local store was opened',
    );
  });

  it('a bad key gives the model a tool error that says how to get a key', async () => {
    const client = await connect('tmcp_' + 'x'.repeat(43));
    try {
      const r = (await client.callTool({
        name: 'query-docs',
        arguments: { libraryId: '/oss/wombatkit', query: 'retry' },
      })) as CallToolResult;
      assert.equal(r.isError, true);
      assert.match(text(r), /key/i);
      assert.match(text(r), /keys create|account|sign in/i);
    } finally {
      await client.close();
    }
  });
});
