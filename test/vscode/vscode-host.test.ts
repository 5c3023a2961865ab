/**
 * The extension in a real VS Code extension host: `npm run package` makes the VSIX, code-server
 * installs it, the in-host suite (test/vscode/suite/) runs in it against a real TwinMCP server,
 * and a second code-server instance, driven through chromium, saves screenshots of the chat panel
 * and the account page under test/artifacts/. One TwinMCP server, one code-server per phase.
 * Without code-server or chromium this skips, except under CI=true, where it fails.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { REPO_ROOT, requireCorpus } from '../helpers/corpus.js';
import { buildHostSuite } from './build-suite.js';
import { installVsix, missingTools, prepareHostDirs, type HostDirs } from './code-server.js';
import { ensurePackaged, vsixEntries } from './package-vsix.js';
import { launchChromium, runHostSuite, type SuiteRun } from './run-host-suite.js';
import { takeScreenshots, type Screenshots } from './screenshots.js';
import { ACCOUNT_EMAIL, LIBRARY_ID, startTwinServer, type TwinServer } from './twin-server.js';
import { makeHoverWorkspace, type HoverWorkspace } from './workspace.js';

const ARTIFACTS = join(REPO_ROOT, 'test', 'artifacts');

/** The log lines that explain a failure (the full log is in test/artifacts/vscode-host-suite.log). */
const relevant = (log: string) =>
  log
    .split('\n')
    .filter((l) => /error|fail|twinmcp|mocha|passing|failing|✔|\d+\) /i.test(l))
    .filter((l) => !/Authentication provider is not ready|open-vsx|vsda/.test(l))
    .slice(-60)
    .join('\n');

/** The in-host tests, in order (fragments of their titles in suite/host.suite.ts). */
const HOST_TESTS = [
  'activates from the installed VSIX',
  'signs in with an API key',
  'hovers an imported symbol',
  'answers warm hovers',
  'callable through vscode.lm',
  'answers in the chat view end to end',
  'looks up documentation from the command',
  'opens the account page',
];

describe('VS Code extension in a real extension host (code-server)', function () {
  this.timeout(600_000);
  let tmp: string;
  let vsix: string;
  let twin: TwinServer | undefined;
  let browser: Browser | undefined;
  let dirs: HostDirs;
  let installed: string;
  let ws: HoverWorkspace;
  let suite: SuiteRun | undefined;

  before(async function () {
    const missing = missingTools();
    if (missing) {
      if (process.env.CI === 'true') throw new Error(`${missing} (required under CI=true)`);
      console.warn(`    skipped: ${missing}`);
      this.skip();
    }
    requireCorpus(this, 'md/zod');
    requireCorpus(this, 'md/zod-v3');
    const t0 = Date.now();
    const phases: string[] = [];
    const phase = (name: string) =>
      phases.push(`${name} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-vscode-'));
    // Copied at once: a build elsewhere empties dist/.
    vsix = join(tmp, 'twinmcp.vsix');
    copyFileSync(ensurePackaged(), vsix);
    phase('packaged');
    twin = await startTwinServer(tmp);
    phase('server seeded and up');
    ws = makeHoverWorkspace(join(tmp, 'workspace'));
    dirs = prepareHostDirs(join(tmp, 'host'), {
      'twinmcp.serverUrl': twin.base,
      'workbench.startupEditor': 'none',
      'telemetry.telemetryLevel': 'all',
    });
    installed = installVsix(dirs, vsix);
    const bundle = await buildHostSuite();
    browser = await launchChromium();
    phase('installed');
    suite = await runHostSuite({
      dirs,
      browser,
      suiteBundle: bundle,
      config: {
        mode: 'all',
        serverUrl: twin.base,
        apiKey: twin.apiKey,
        accountEmail: ACCOUNT_EMAIL,
        libraryId: LIBRARY_ID,
        installedPath: installed,
        workspace: ws.folder,
        hoverFile: ws.file,
        hoverPosition: ws.position,
        expectedVersion: 'v3',
        otherVersion: 'v4',
        warmHoverRuns: 5,
      },
      timeoutMs: 240_000,
    });
    phase('host suite done');
    console.log(`      (${phases.join(', ')})`);
    // The host's full log (workbench automation log + code-server output), for failures.
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'vscode-host-suite.log'), suite.log);
  });

  after(async () => {
    await browser?.close();
    await twin?.serve.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('packs a VSIX of at most 3 MB with the manifest and bundles only', function () {
    const names = vsixEntries(vsix);
    assert.ok(statSync(vsix).size <= 3 * 1024 * 1024, `${statSync(vsix).size} bytes`);
    assert.ok(names.includes('extension/package.json'));
    assert.ok(names.includes('extension/dist/extension/extension.cjs'));
    const bad = names.filter((n) =>
      /\.map$|\.tsx?$|(^|\/)(test|node_modules|server)\/|^extension\/dist\/server\//.test(n),
    );
    assert.deepEqual(bad, [], 'no maps, tests, sources, server code or node_modules');
  });

  it('the package script refuses a VSIX holding a source map or server code', function () {
    const bad = join(tmp, 'bad');
    const stage = join(bad, 'extension', 'dist', 'server');
    spawnSync('mkdir', ['-p', stage]);
    spawnSync('sh', ['-c', `echo '{}' > ${stage}/cli.js.map && echo x > ${stage}/cli.js`]);
    spawnSync('sh', ['-c', `echo '{}' > ${join(bad, 'extension', 'package.json')}`]);
    const zip = spawnSync('zip', ['-qr', join(tmp, 'bad.vsix'), 'extension'], { cwd: bad });
    assert.equal(zip.status, 0, zip.stderr?.toString());
    const r = spawnSync(
      process.execPath,
      ['scripts/package.mjs', '--check', join(tmp, 'bad.vsix')],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /cli\.js\.map: a source map must not ship/);
    assert.match(r.stderr, /the server bundle must not ship/);
  });

  it('installs with code-server --install-extension into a clean extensions folder', function () {
    assert.ok(existsSync(join(installed, 'dist', 'extension', 'extension.cjs')));
    assert.ok(!existsSync(join(installed, 'server')), 'no server sources installed');
    assert.ok(!existsSync(join(installed, 'node_modules')), 'no node_modules installed');
  });

  for (const fragment of HOST_TESTS) {
    it(`in the host: ${fragment}`, function () {
      assert.ok(suite, 'the suite ran');
      const result = suite.results.tests.find((t) => t.title.includes(fragment));
      assert.ok(
        result,
        `no result for "${fragment}" (exit ${suite.exitCode}, finished ${suite.results.finished}):\n${relevant(suite.log)}`,
      );
      assert.equal(result.state, 'passed', result.error);
    });
  }

  it('the in-host suite exits 0 within its time', function () {
    assert.ok(suite);
    assert.equal(suite.exitCode, 0, relevant(suite.log));
    const { activationMs, firstHoverMs, warmHoverMs, hostWarmupHoverMs, typescriptFeaturesOn } =
      suite.results.metrics;
    console.log(
      `      (warm-up hover on a local identifier ${hostWarmupHoverMs?.toFixed(0)} ms; TypeScript features ${typescriptFeaturesOn ? 'on' : 'off'})`,
    );
    console.log(
      `      activation ${activationMs?.toFixed(1)} ms, first hover ${firstHoverMs?.toFixed(0)} ms, warm ${warmHoverMs?.map((m) => m.toFixed(0)).join('/')} ms; suite ${suite.wallMs} ms`,
    );
  });

  describe('screenshots (a second host, driven through the UI)', function () {
    let shots: Screenshots;

    before(async function () {
      assert.ok(twin && browser);
      const shotDirs = prepareHostDirs(join(tmp, 'host-ui'), {
        'twinmcp.serverUrl': twin.base,
        'workbench.startupEditor': 'none',
        // VS Code's own chat view would take a third of the screenshot.
        'workbench.secondarySideBar.defaultVisibility': 'hidden',
      });
      // Same extensions folder as the suite's host: the VSIX installed once.
      shotDirs.extensions = dirs.extensions;
      shots = await takeScreenshots({
        dirs: shotDirs,
        browser,
        workspace: ws.folder,
        apiKey: twin.apiKey,
        outDir: ARTIFACTS,
        question: 'How do I give a string schema a minimum length?',
      });
    });

    it('shows an answer in the chat panel and saves test/artifacts/chat-panel.png', function () {
      assert.ok(statSync(shots.chat).size > 10_000, 'a real screenshot');
      assert.match(shots.answerText, /min/i);
    });

    it('shows the plan and usage chart on the account page and saves account-page.png', function () {
      assert.ok(statSync(shots.account).size > 10_000);
      assert.match(shots.planText, /free/i);
    });
  });
});
