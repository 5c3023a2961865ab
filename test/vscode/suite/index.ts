/**
 * Entry of the in-host suite: the module `extensionTestsPath` names. It exports `run()` as
 * `@vscode/test-electron` expects (resolve = pass, reject = fail), so the same bundle serves the
 * code-server launcher (test/vscode/run-host-suite.ts) and test/vscode/run-electron.ts.
 * Bundled to CJS by test/vscode/build-suite.ts (the extension host loads it with require); mocha
 * stays external and resolves from the repository's node_modules.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import Mocha from 'mocha';
import { CONFIG_ENV, type HostTestConfig, type HostTestResults } from '../host-config.js';
import { defineHostSuite } from './host.suite.js';

export async function run(): Promise<void> {
  const path = process.env[CONFIG_ENV];
  if (!path) throw new Error(`${CONFIG_ENV} is not set: the launcher passes the suite's config`);
  const config = JSON.parse(readFileSync(path, 'utf8')) as HostTestConfig;
  const results: HostTestResults = { tests: [], metrics: {}, finished: false };
  const save = () => writeFileSync(config.resultsFile, JSON.stringify(results, null, 2));
  save();

  const mocha = new Mocha({ ui: 'bdd', timeout: 90_000, color: false, reporter: 'spec' });
  // What `mocha` does per spec file: installs describe/it as globals for the definitions below.
  mocha.suite.emit('pre-require', globalThis, 'host.suite', mocha);
  defineHostSuite(config, results.metrics);

  const { EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING } = Mocha.Runner.constants;
  await new Promise<void>((resolve, reject) => {
    const runner = mocha.run((failures) => {
      results.finished = true;
      save();
      if (failures > 0) reject(new Error(`${failures} host test(s) failed`));
      else resolve();
    });
    runner.on(EVENT_TEST_PASS, (t: Mocha.Test) => {
      results.tests.push({ title: t.fullTitle(), state: 'passed', durationMs: t.duration ?? 0 });
      save();
    });
    runner.on(EVENT_TEST_FAIL, (t: Mocha.Test, err: Error) => {
      results.tests.push({
        title: t.fullTitle(),
        state: 'failed',
        durationMs: t.duration ?? 0,
        error: err.stack ?? String(err),
      });
      save();
    });
    runner.on(EVENT_TEST_PENDING, (t: Mocha.Test) => {
      results.tests.push({ title: t.fullTitle(), state: 'pending', durationMs: 0 });
      save();
    });
  });
}
