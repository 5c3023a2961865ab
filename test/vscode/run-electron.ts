/**
 * The same in-host suite on desktop VS Code via @vscode/test-electron, for machines with internet
 * (it downloads VS Code from Microsoft's update servers, which the project's machines and CI cannot
 * reach; there test/vscode/vscode-host.test.ts runs it in code-server). Run:
 *   npx tsx test/vscode/run-electron.ts [--vscode-version 1.101.0]
 * It packs the VSIX, unpacks it (extensionDevelopmentPath = the unpacked `extension/` folder, i.e.
 * exactly the files the VSIX installs), seeds and starts a TwinMCP server, and runs the suite.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runTests } from '@vscode/test-electron';
import { buildHostSuite } from './build-suite.js';
import { CONFIG_ENV, type HostTestConfig } from './host-config.js';
import { ensurePackaged } from './package-vsix.js';
import { ACCOUNT_EMAIL, LIBRARY_ID, startTwinServer } from './twin-server.js';
import { makeHoverWorkspace } from './workspace.js';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'vscode-version': { type: 'string' } } });
  const tmp = mkdtempSync(join(tmpdir(), 'twinmcp-electron-'));
  const twin = await startTwinServer(tmp);
  try {
    const unpacked = join(tmp, 'vsix');
    mkdirSync(unpacked);
    const unzip = spawnSync('unzip', ['-q', ensurePackaged(), '-d', unpacked]);
    if (unzip.status !== 0) throw new Error(`unzip failed: ${unzip.stderr.toString()}`);
    const extensionPath = join(unpacked, 'extension');
    const ws = makeHoverWorkspace(join(tmp, 'workspace'));
    const userData = join(tmp, 'user-data');
    mkdirSync(join(userData, 'User'), { recursive: true });
    writeFileSync(
      join(userData, 'User', 'settings.json'),
      JSON.stringify({ 'twinmcp.serverUrl': twin.base, 'workbench.startupEditor': 'none' }),
    );
    const config: HostTestConfig = {
      mode: 'all',
      serverUrl: twin.base,
      apiKey: twin.apiKey,
      accountEmail: ACCOUNT_EMAIL,
      libraryId: LIBRARY_ID,
      installedPath: extensionPath,
      workspace: ws.folder,
      hoverFile: ws.file,
      hoverPosition: ws.position,
      expectedVersion: 'v3',
      otherVersion: 'v4',
      warmHoverRuns: 5,
      resultsFile: join(tmp, 'results.json'),
    };
    const configFile = join(tmp, 'config.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const bundle = await buildHostSuite();
    return await runTests({
      ...(values['vscode-version'] ? { version: values['vscode-version'] } : {}),
      extensionDevelopmentPath: extensionPath,
      extensionTestsPath: bundle.replace(/\.js$/, ''),
      extensionTestsEnv: { [CONFIG_ENV]: configFile },
      launchArgs: [
        ws.folder,
        '--user-data-dir',
        userData,
        '--disable-workspace-trust',
        '--disable-extension',
        'vscode.typescript-language-features',
      ],
    });
  } finally {
    await twin.serve.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`run-electron: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
