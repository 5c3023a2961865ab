/**
 * Runs the in-host suite in code-server: one instance started with the smoke-test driver, the
 * workbench opened in Debian chromium with the test-electron payload (extensionDevelopmentPath =
 * the folder the VSIX was installed into, extensionTestsPath = the suite bundle), and the exit code
 * read from `window.codeAutomationExit`, which the workbench calls when `run()` settles.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM, startCodeServer, testWorkbenchUrl, type HostDirs } from './code-server.js';
import { CONFIG_ENV, type HostTestConfig, type HostTestResults } from './host-config.js';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export interface SuiteRun {
  exitCode: number;
  results: HostTestResults;
  /** The workbench's automation log and code-server's output, for failure messages. */
  log: string;
  wallMs: number;
}

/** Starts code-server, runs the suite once, stops everything; never leaves a process behind. */
export async function runHostSuite(opts: {
  dirs: HostDirs;
  browser: Browser;
  suiteBundle: string;
  config: Omit<HostTestConfig, 'resultsFile'>;
  timeoutMs: number;
}): Promise<SuiteRun> {
  const started = Date.now();
  const scratch = mkdtempSync(join(tmpdir(), 'twinmcp-suite-'));
  const config: HostTestConfig = { ...opts.config, resultsFile: join(scratch, 'results.json') };
  const configFile = join(scratch, 'config.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const host = await startCodeServer({
    dirs: opts.dirs,
    smokeTestDriver: true,
    env: { [CONFIG_ENV]: configFile },
  });
  const context = await opts.browser.newContext({ viewport: { width: 1280, height: 800 } });
  let log = '';
  try {
    const page = await context.newPage();
    const exited = new Promise<number>((resolve) => {
      void page.exposeFunction('codeAutomationExit', (code: number) => resolve(Number(code)));
    });
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
      log += `[${type}] ${(args ?? []).map(String).join(' ')}\n`;
    });
    page.on('console', (m) => {
      if (m.type() === 'error') log += `[page error] ${m.text()}\n`;
    });
    // extensionTestsPath names the module without its extension, as test-electron passes it.
    const testsPath = opts.suiteBundle.replace(/\.js$/, '');
    const url = testWorkbenchUrl(host, config.workspace, config.installedPath, testsPath);
    // The exit callback is what counts; the load event can take long on a busy machine.
    await page.goto(url, { waitUntil: 'commit', timeout: 120_000 });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<number>((resolve) => {
      timer = setTimeout(() => resolve(-1), opts.timeoutMs);
    });
    const exitCode = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    const results = existsSync(config.resultsFile)
      ? (JSON.parse(readFileSync(config.resultsFile, 'utf8')) as HostTestResults)
      : { tests: [], metrics: {}, finished: false };
    if (exitCode === -1) log += `\n[launcher] no exit after ${opts.timeoutMs} ms\n`;
    return {
      exitCode,
      results,
      log: `${log}\n--- code-server\n${host.output()}`,
      wallMs: Date.now() - started,
    };
  } finally {
    await context.close();
    await host.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
