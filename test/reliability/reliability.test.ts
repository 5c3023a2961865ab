/**
 * Proof under load and faults (issue 9): two API processes behind haproxy and two workers on one
 * PostgreSQL server, loaded with autocannon; one API process and one worker SIGKILLed mid-load
 * while jobs run; PostgreSQL restarted mid-load. CI form here; the full form is
 * `npm run reliability` (scripts/reliability.ts), whose figures are in docs/RELIABILITY.md.
 */
import assert from 'node:assert/strict';
import { requireCorpus } from '../helpers/corpus.js';
import { startCluster, type Cluster } from './cluster.js';
import { checkJobOutcome, killWorkerHoldingJob, queueJobs } from './jobs.js';
import { describeLoad, questionsFrom, runLoad, type LoadMix } from './load.js';
import { sleep, waitUntil } from './processes.js';
import {
  corpusFolder,
  LOAD_LIBRARIES,
  QUESTIONS_FILE,
  recordPhase,
  runSettings,
} from './scenarios.js';
import { ReadyProbe } from './ready-probe.js';

const settings = runSettings();

describe(`reliability under load and faults (${settings.form} form)`, function () {
  // Set-up builds, migrates and indexes two corpus libraries: ~30 s idle, minutes on a busy machine.
  this.timeout(300_000 + settings.restartDurationS * 3_000);
  let cluster: Cluster | undefined;
  let mix: LoadMix;

  before(async function () {
    for (const lib of LOAD_LIBRARIES) requireCorpus(this, `md/${lib.folder}`);
    for (const job of settings.jobFolders) requireCorpus(this, `md/${job.folder}`);
    mix = questionsFrom(
      QUESTIONS_FILE,
      Object.fromEntries(LOAD_LIBRARIES.map((l) => [l.folder, l.libraryId])),
    );
    cluster = await startCluster({
      libraries: LOAD_LIBRARIES.map((l) => ({
        path: corpusFolder(l.folder),
        libraryId: l.libraryId,
        name: l.name,
      })),
    });
    console.log(`    capabilities: ${JSON.stringify(cluster.capabilities)}`);
  });

  after(async () => {
    await cluster?.stop();
  });

  // haproxy logs failed requests only (with their termination state), for assertion messages.
  const haproxyLog = () => `\nhaproxy:\n${cluster!.haproxy.proc.output().slice(-3000)}`;
  const load = (durationS = settings.durationS) =>
    runLoad({ url: cluster!.haproxy.url, mix, connections: settings.connections, durationS });

  it('serves a query-docs and resolve mix through haproxy with no errors', async () => {
    const result = await load();
    console.log(`    ${describeLoad('steady', result)}`);
    recordPhase({ name: 'steady', load: result, notes: {} });
    assert.ok(result.requests >= settings.durationS, `too few requests: ${result.requests}`);
    assert.equal(
      result.errors,
      0,
      `connection errors: ${JSON.stringify(result.failures.slice(0, 5))}${haproxyLog()}`,
    );
    assert.equal(result.non2xx, 0, `non-2xx: ${JSON.stringify(result.statusCodes)}${haproxyLog()}`);
  });

  it('loses only in-flight requests and no jobs when an API process and a worker are SIGKILLed', async () => {
    const c = cluster!;
    const [victimApi, survivor] = c.apis as [(typeof c.apis)[0], (typeof c.apis)[0]];
    const jobs = await queueJobs(c, survivor, settings.jobFolders);
    let killedAt = 0;
    let downAt = 0;
    let workerKill: Awaited<ReturnType<typeof killWorkerHoldingJob>> | undefined;
    const faults = (async () => {
      // A third of the way in, at most 10 s: the load is steady and the jobs are still running.
      await sleep(Math.min((settings.durationS * 1000) / 3, 10_000));
      workerKill = await killWorkerHoldingJob(
        c,
        jobs.map((j) => j.id),
        5000,
      );
      killedAt = Date.now();
      victimApi.proc.signal('SIGKILL');
      await waitUntil(
        'haproxy marks the killed API process DOWN',
        async () => (await c.haproxy.states())[victimApi.name]?.startsWith('DOWN') ?? false,
        10_000,
        50,
      );
      downAt = Date.now();
    })();
    const result = await load();
    await faults;
    const after = result.failures.filter((f) => f.sentAt > downAt);
    const before = result.failures.filter((f) => f.at < killedAt);
    console.log(`    ${describeLoad('kill', result)}`);
    console.log(
      `    killed ${victimApi.name} and ${workerKill?.worker} (holding job ${workerKill?.jobId ?? 'none'}); ` +
        `haproxy marked it down after ${downAt - killedAt} ms; failures before/at/after: ` +
        `${before.length}/${result.failures.length - before.length - after.length}/${after.length}`,
    );
    const killNotes = {
      killed: [victimApi.name, workerKill?.worker],
      jobHeldByKilledWorker: workerKill?.jobId ?? null,
      markedDownAfterMs: downAt - killedAt,
      failuresAtKill: result.failures.length,
    };
    recordPhase({ name: 'kill', load: result, notes: killNotes });
    assert.equal(before.length, 0, `failures before the kill: ${JSON.stringify(before)}`);
    assert.ok(
      result.failures.length <= settings.connections,
      `${result.failures.length} failures, more than the ${settings.connections} requests in flight`,
    );
    assert.equal(
      after.length,
      0,
      `failures after haproxy marked the backend down: ${JSON.stringify(after)}${haproxyLog()}`,
    );
    assert.ok(result.requests >= settings.durationS, `too few requests: ${result.requests}`);
    await victimApi.proc.exited;
    assert.equal(victimApi.proc.child.signalCode, 'SIGKILL');

    assert.ok(workerKill?.jobId, 'no worker was running one of the queued jobs at the kill');
    // The killed worker's job is claimed again when its 10 s lease runs out (cluster.ts).
    const outcome = await checkJobOutcome(c, jobs, 120_000);
    console.log(`    jobs: ${JSON.stringify(outcome.summary)}`);
    recordPhase({
      name: 'kill',
      load: result,
      notes: { ...killNotes, jobs: outcome.summary },
    });
  });

  it('recovers from a PostgreSQL restart without restarting the API processes', async () => {
    const c = cluster!;
    const live = c.apis.filter((a) => a.proc.alive());
    const pids = live.map((a) => a.proc.pid);
    const probe = new ReadyProbe(live[0]!.base, c.capabilities.ready ? '/ready' : '/health');
    probe.start();
    let stoppedAt = 0;
    let startedAt = 0;
    const outage = (async () => {
      await sleep((settings.restartDurationS * 1000) / 4);
      stoppedAt = Date.now();
      await c.pg.stop();
      await sleep(settings.outageMs);
      await c.pg.start();
      startedAt = Date.now();
    })();
    const result = await load(settings.restartDurationS);
    await outage;
    // The probe runs on until /ready is back (it may lag the load by a check or two).
    await waitUntil(`${probe.path} back to 200`, () => probe.lastOk(), 20_000).catch(() => {});
    await probe.stop();
    // Requests sent once /ready is back and haproxy has seen 2 good checks (~1 s; 2 s with
    // margin) must all succeed. /ready itself must be back within 15 s of PostgreSQL.
    const readyAt = probe.firstOkAfter(startedAt);
    const recoveredBy = (readyAt ?? Infinity) + 2000;
    const late = result.failures.filter((f) => f.sentAt > recoveredBy);
    const servedAfter = result.successes.filter((t) => t > recoveredBy).length;
    const early = result.failures.filter((f) => f.at < stoppedAt);
    console.log(`    ${describeLoad('postgres restart', result)}`);
    console.log(
      `    postgres down ${startedAt - stoppedAt} ms; failures before/during/after: ` +
        `${early.length}/${result.failures.length - early.length - late.length}/${late.length}; ` +
        `${servedAfter} answered after recovery; ready ${readyAt === undefined ? 'never' : readyAt - startedAt} ms after postgres; ` +
        `${probe.path}: ${probe.describe(stoppedAt)}`,
    );
    recordPhase({
      name: 'postgres-restart',
      load: result,
      notes: {
        outageMs: startedAt - stoppedAt,
        readyAfterPostgresMs: readyAt === undefined ? null : readyAt - startedAt,
        failuresDuringOutage: result.failures.length - early.length - late.length,
        failuresAfterRecovery: late.length,
        answeredAfterRecovery: servedAfter,
        readyTimeline: probe.describe(stoppedAt),
      },
    });
    assert.equal(early.length, 0, `failures before the outage: ${JSON.stringify(early)}`);
    assert.ok(
      readyAt !== undefined && readyAt - startedAt < 15_000,
      `${probe.path} not 200 within 15 s of PostgreSQL's return: ${probe.describe(stoppedAt)}`,
    );
    assert.equal(
      late.length,
      0,
      `failures of requests sent 2 s after /ready recovered: ${JSON.stringify(late.slice(0, 5))}`,
    );
    assert.ok(
      probe.sawFailureAfter(stoppedAt),
      `${probe.path} never failed while PostgreSQL was down`,
    );
    assert.ok(probe.lastOk(), `${probe.path} not back to 200 after PostgreSQL returned`);
    assert.deepEqual(
      c.apis.filter((a) => a.proc.alive()).map((a) => a.proc.pid),
      pids,
      'an API process exited or was replaced',
    );
    const after = await fetch(
      `${c.haproxy.url}/api/v1/context?libraryId=${encodeURIComponent(LOAD_LIBRARIES[0]!.libraryId)}&query=hooks`,
    );
    assert.equal(after.status, 200);
  });
});
