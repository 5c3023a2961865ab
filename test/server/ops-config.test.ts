import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from '../../server/cli/args.js';
import { main } from '../../server/cli/main.js';
import { ConfigError, loadConfig } from '../../server/config.js';
import { applyConfigFile, KNOWN_SETTINGS, withFileOrigin } from '../../server/ops/config-file.js';
import { REPO_ROOT } from '../helpers/corpus.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : full.endsWith('.ts') ? [full] : [];
  });
}

async function run(argv: string[], env: NodeJS.ProcessEnv) {
  let out = '';
  let err = '';
  const code = await main(argv, {
    env,
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
    cwd: REPO_ROOT,
  });
  return { code, out, err };
}

describe('operations: the configuration file', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-ops-config-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    const file = join(tmp, name);
    writeFileSync(file, text);
    return file;
  };

  it('knows every variable the server reads (the list cannot fall behind)', () => {
    const names = new Set<string>();
    // config-file.ts itself lists the names without their TWINMCP_ prefix.
    const list = join(REPO_ROOT, 'server', 'ops', 'config-file.ts');
    for (const file of sourceFiles(join(REPO_ROOT, 'server')).filter((f) => f !== list)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(
        /\b(?:TWINMCP|DATABASE|OPENAI|ANTHROPIC|STRIPE)_[A-Z0-9_]*[A-Z0-9]\b/g,
      )) {
        names.add(m[0]);
      }
    }
    // Where the file itself is named; it cannot name itself.
    names.delete('TWINMCP_CONFIG');
    const missing = [...names].filter((n) => !KNOWN_SETTINGS.includes(n)).sort();
    assert.deepEqual(missing, [], 'add these to KNOWN_SETTINGS in server/ops/config-file.ts');
  });

  it('reads YAML and JSON with the variables as keys; the environment wins', () => {
    const yaml = write(
      'twinmcp.yaml',
      [
        '# operator settings',
        'TWINMCP_PORT: 8088',
        'TWINMCP_HOST: 0.0.0.0',
        'TWINMCP_ALLOWED_HOSTS: [docs.example.com, api.example.com]',
        'TWINMCP_LOG_LEVEL: warn',
        'TWINMCP_REFRESH_HOURS: 0',
      ].join('\n'),
    );
    const env: NodeJS.ProcessEnv = { TWINMCP_LOG_LEVEL: 'error' };
    const applied = applyConfigFile(yaml, env);
    assert.deepEqual(applied.keys.sort(), [
      'TWINMCP_ALLOWED_HOSTS',
      'TWINMCP_HOST',
      'TWINMCP_PORT',
      'TWINMCP_REFRESH_HOURS',
    ]);
    const config = loadConfig(env);
    assert.equal(config.port, 8088);
    assert.equal(config.host, '0.0.0.0');
    assert.deepEqual(config.allowedHosts, ['docs.example.com', 'api.example.com']);
    assert.equal(config.logLevel, 'error', 'the environment wins over the file');
    assert.equal(config.refreshHours, 0);

    const json = write('twinmcp.json', JSON.stringify({ TWINMCP_PORT: 9099, TWINMCP_AUTH: 'on' }));
    const env2: NodeJS.ProcessEnv = {};
    applyConfigFile(json, env2);
    const config2 = loadConfig(env2);
    assert.equal(config2.port, 9099);
    assert.equal(config2.accounts?.auth, 'on');
  });

  it('names the file and the key of a bad value, and exits 2 at start', async () => {
    const file = write('bad-port.yaml', 'TWINMCP_PORT: seventy\nTWINMCP_HOST: 127.0.0.1\n');
    const r = await run(['--config', file, 'list'], {});
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /TWINMCP_PORT \(in .*bad-port\.yaml\): must be a whole number/);
    // The same bad value from the environment names just the variable.
    const fromEnv = await run(['list'], { TWINMCP_PORT: 'seventy' });
    assert.equal(fromEnv.code, 2);
    assert.match(fromEnv.err, /TWINMCP_PORT: must be a whole number/);
    assert.doesNotMatch(fromEnv.err, /\(in /);
  });

  it('rejects unknown keys with a suggestion, and takes TWINMCP_CONFIG too', async () => {
    const file = write('typo.yaml', 'TWINMCP_PROT: 7377\nTWINMCP_LOG_LEVEL: info\n');
    const r = await run(['list'], { TWINMCP_CONFIG: file });
    assert.equal(r.code, 2, r.err);
    assert.match(
      r.err,
      /typo\.yaml: TWINMCP_PROT: unknown setting \(did you mean TWINMCP_PORT\?\)/,
    );
  });

  it('rejects a missing file, bad syntax, a list at the top and nested values', async () => {
    const cases: [string, RegExp][] = [
      [join(tmp, 'absent.yaml'), /absent\.yaml: no such file/],
      [write('broken.yaml', 'TWINMCP_PORT: [1, 2\n'), /broken\.yaml: not valid YAML or JSON/],
      [write('broken.json', '{"TWINMCP_PORT": 1,}'), /broken\.json: not valid YAML or JSON/],
      [write('list.yaml', '- TWINMCP_PORT\n'), /list\.yaml: expected a mapping/],
      [
        write('nested.yaml', 'TWINMCP_HOST:\n  address: 0.0.0.0\n'),
        /nested\.yaml: TWINMCP_HOST: must be a string, number, boolean or list/,
      ],
    ];
    for (const [file, message] of cases) {
      const r = await run(['--config', file, 'list'], {});
      assert.equal(r.code, 2, `${file}: ${r.err}`);
      assert.match(r.err, message);
    }
  });

  it('parses `migrate`, `serve --no-migrate` and the root --config option', () => {
    const quiet = { out: () => {}, err: () => {} };
    assert.deepEqual(parseArgs(['migrate'], quiet), { command: { name: 'migrate' } });
    const serve = parseArgs(['serve', '--no-worker', '--no-migrate'], quiet);
    assert.ok('command' in serve && serve.command.name === 'serve');
    assert.equal(serve.command.migrate, false);
    assert.equal(serve.command.worker, false);
    const plain = parseArgs(['serve'], quiet);
    assert.ok('command' in plain && plain.command.name === 'serve');
    assert.equal(plain.command.migrate, undefined);
    assert.deepEqual(parseArgs(['--config', 'ops.yaml', 'migrate'], quiet), {
      command: { name: 'migrate' },
      configFile: 'ops.yaml',
    });
  });

  it('marks only the settings the file provided', () => {
    const err = new ConfigError(
      'Invalid configuration: TWINMCP_PORT: must be a whole number; TWINMCP_HOST: bad',
    );
    const marked = withFileOrigin(err, { file: '/etc/twinmcp.yaml', keys: ['TWINMCP_HOST'] });
    assert.equal(
      marked.message,
      'Invalid configuration: TWINMCP_PORT: must be a whole number; TWINMCP_HOST (in /etc/twinmcp.yaml): bad',
    );
  });
});
