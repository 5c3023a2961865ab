/**
 * `npm run reliability`: the full form of the load, kill and restart proof (100 connections, 60 s
 * per phase) documented in docs/RELIABILITY.md. It runs the same scenarios and assertions as the
 * CI form (test/reliability/reliability.test.ts) with TWINMCP_RELIABILITY=full, then prints the
 * figures as the Markdown table the document carries.
 *
 *   npm run reliability                 # full form, ~5 minutes on 2 cores
 *   npm run reliability -- --ci         # the CI form's figures (10 connections, 8 s)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, '.cache', 'reliability');
const ci = process.argv.includes('--ci');
const form = ci ? 'ci' : 'full';
const reportFile = join(outDir, `${form}.json`);

interface Phase {
  name: string;
  load: {
    connections: number;
    durationS: number;
    requests: number;
    rps: number;
    errors: number;
    non2xx: number;
    statusCodes: Record<string, number>;
    p50: number;
    p99: number;
    max: number;
  };
  notes: Record<string, unknown>;
}

mkdirSync(outDir, { recursive: true });
writeFileSync(reportFile, '{}');
const started = new Date();
const mocha = spawnSync(
  process.execPath,
  [
    join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'),
    ...['--no-config', '--node-option', 'import=tsx', '--timeout', '0', '--exit'],
    'test/reliability/reliability.test.ts',
  ],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TWINMCP_RELIABILITY: form, TWINMCP_RELIABILITY_REPORT: reportFile },
  },
);

const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { phases?: Phase[] };
const phases = report.phases ?? [];
const lines = [
  `Run ${started.toISOString()} (${form} form, mocha exit ${mocha.status}), ` +
    `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), load average at the end ` +
    `${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}:`,
  '',
  '| phase | connections | duration | requests | req/s | errors | non-2xx | p50 | p99 | max |',
  '| ----- | ----------: | -------: | -------: | ----: | -----: | ------: | --: | --: | --: |',
  ...phases.map(
    (p) =>
      `| ${p.name} | ${p.load.connections} | ${p.load.durationS} s | ${p.load.requests} | ` +
      `${Math.round(p.load.rps)} | ${p.load.errors} | ${p.load.non2xx} | ${p.load.p50} ms | ` +
      `${p.load.p99} ms | ${p.load.max} ms |`,
  ),
  '',
  ...phases.map(
    (p) =>
      `- ${p.name}: status codes ${JSON.stringify(p.load.statusCodes)}; ${JSON.stringify(p.notes)}`,
  ),
];
const markdown = lines.join('\n') + '\n';
writeFileSync(join(outDir, `${form}.md`), markdown);
process.stdout.write(`\n${markdown}`);
// Three phases recorded and mocha passing: anything less is a failed proof.
process.exitCode = mocha.status === 0 && phases.length === 3 ? 0 : 1;
