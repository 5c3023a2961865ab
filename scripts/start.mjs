// `npm start`: TwinMCP on its embedded default, answering. Indexes the Fastify docs found on this
// machine the first time (the shared corpus when present, else the copy inside node_modules/fastify),
// starts the server, asks it one question through the REST API, and keeps serving until Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist/server/cli.js');
if (!existsSync(cli))
  spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit', cwd: root });

const run = (args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const listed = run(['list']);
if (!listed.stdout.includes('/fastify/fastify')) {
  const corpus = resolve(root, '..', 'shared', 'corpus', 'md', 'fastify');
  const docs = existsSync(corpus) ? corpus : join(root, 'node_modules', 'fastify', 'docs');
  console.log(`First run: indexing the Fastify documentation from ${docs}`);
  const added = spawnSync(
    process.execPath,
    [cli, 'add', docs, '--id', '/fastify/fastify', '--name', 'Fastify'],
    {
      stdio: 'inherit',
    },
  );
  if (added.status !== 0) process.exit(added.status ?? 1);
}

// Request logs (info) would bury the demo's answer; TWINMCP_LOG_LEVEL still overrides.
const server = spawn(process.execPath, [cli, 'serve'], {
  stdio: 'inherit',
  env: { TWINMCP_LOG_LEVEL: 'warn', ...process.env },
});
const stop = () => server.kill('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.on('exit', (code) => process.exit(code ?? 0));

const dataDir = process.env.TWINMCP_DATA_DIR ?? join(homedir(), '.twinmcp', 'data');
for (let i = 0; i < 100; i++) {
  await new Promise((r) => setTimeout(r, 200));
  let port;
  try {
    port = JSON.parse(readFileSync(`${dataDir}.lock`, 'utf8')).port;
  } catch {
    continue;
  }
  if (!port) continue;
  const url = `http://127.0.0.1:${port}/api/v1/context?libraryId=/fastify/fastify&query=${encodeURIComponent('how do I use the preHandler hook')}&tokens=1000`;
  const res = await fetch(url).catch(() => undefined);
  if (!res?.ok) continue;
  const text = await res.text();
  console.log(
    `\n$ curl '${url}'\n\n${text.split('\n--------------------------------\n')[0]}\n\n(TwinMCP is serving on http://127.0.0.1:${port}; Ctrl-C stops it.)`,
  );
  break;
}
