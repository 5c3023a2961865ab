/**
 * The deploy files (docs/deploy/) cannot run here (no container engine), so this suite reads them
 * and runs every TwinMCP command they run, with their environment, against the built CLI and a
 * test PostgreSQL server, and asks their probes' paths.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { CLI, ensureBuilt, runProcess, showRun } from '../helpers/built-cli.js';
import { REPO_ROOT } from '../helpers/corpus.js';
import { sharedPostgresServer } from '../helpers/pg-server.js';
import { cliEnv, startCli } from './ops-helpers.js';

const DEPLOY = join(REPO_ROOT, 'docs', 'deploy');

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  deploy?: { replicas?: number };
  healthcheck?: { test: string[] };
}
interface Container {
  name: string;
  args: string[];
  readinessProbe?: { httpGet: { path: string } };
  livenessProbe?: { httpGet: { path: string } };
}
interface K8sDoc {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec: {
    replicas?: number;
    template: { spec: { containers: Container[] } };
    ports?: { targetPort: string }[];
  };
}

/** The Dockerfile's ENTRYPOINT + CMD as one argv (exec form only). */
function dockerCommand(text: string): { entrypoint: string[]; cmd: string[] } {
  const exec = (instruction: string) => {
    const m = new RegExp(`^${instruction}\\s+(\\[.*\\])\\s*$`, 'm').exec(text);
    assert.ok(m, `the Dockerfile has no exec-form ${instruction}`);
    return JSON.parse(m[1]!) as string[];
  };
  return { entrypoint: exec('ENTRYPOINT'), cmd: exec('CMD') };
}

describe('operations: the deploy files run as written', function () {
  this.timeout(900_000);
  let tmp: string;
  let compose: { services: Record<string, ComposeService> };
  let k8s: K8sDoc[];
  let docker: { entrypoint: string[]; cmd: string[] };
  let dockerfile: string;

  before(() => {
    ensureBuilt();
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-ops-deploy-'));
    dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    docker = dockerCommand(dockerfile);
    compose = parseYaml(readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8')) as typeof compose;
    k8s = parseAllDocuments(readFileSync(join(DEPLOY, 'k8s.yaml'), 'utf8')).map((d) => {
      assert.deepEqual(d.errors, []);
      return d.toJS() as K8sDoc;
    });
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const k8sContainer = (kind: string, name: string): Container => {
    const doc = k8s.find((d) => d.kind === kind && d.metadata.name === name);
    assert.ok(doc, `k8s.yaml has no ${kind} ${name}`);
    return doc.spec.template.spec.containers[0]!;
  };

  it('describes the image, the compose services and the Kubernetes objects asked for', () => {
    assert.match(dockerfile, /^FROM node:20-slim/m);
    assert.match(dockerfile, /^RUN npm ci\b/m);
    assert.match(dockerfile, /npm run build/);
    assert.deepEqual(docker.entrypoint, ['node', 'dist/server/cli.js']);
    assert.deepEqual(docker.cmd, ['serve']);
    // The host's node_modules and dist must not overwrite the image's (COPY . .).
    const ignore = readFileSync(join(DEPLOY, 'Dockerfile.dockerignore'), 'utf8').split('\n');
    for (const dir of ['node_modules', 'dist', '.git']) assert.ok(ignore.includes(dir), dir);

    const s = compose.services;
    assert.match(s.postgres!.image!, /^pgvector\/pgvector:pg1[5-9]$/);
    assert.deepEqual(s.migrate!.command, ['migrate']);
    assert.deepEqual(s.api!.command!.slice(0, 2), ['serve', '--no-worker']);
    assert.equal(s.api!.deploy?.replicas, 2);
    assert.deepEqual(s.worker!.command, ['worker']);
    // The YAML anchor gives every TwinMCP service the same settings.
    for (const name of ['migrate', 'api', 'worker']) {
      assert.match(s[name]!.environment!.DATABASE_URL!, /^postgres:\/\/.*@postgres:5432\//);
    }

    const kinds = k8s.map((d) => `${d.kind}/${d.metadata.name}`).sort();
    for (const want of [
      'Deployment/twinmcp-api',
      'Deployment/twinmcp-worker',
      'Job/twinmcp-migrate',
      'Service/twinmcp',
    ]) {
      assert.ok(kinds.includes(want), `k8s.yaml lacks ${want}: ${kinds.join(', ')}`);
    }
    const api = k8sContainer('Deployment', 'twinmcp-api');
    assert.equal(api.readinessProbe?.httpGet.path, '/ready');
    assert.equal(api.livenessProbe?.httpGet.path, '/health');
  });

  it('runs migrate, two APIs and a worker from the files; probes answer; a job crosses over', async () => {
    const server = await sharedPostgresServer();
    const url = await server.createDatabase();
    const running: Awaited<ReturnType<typeof startCli>>[] = [];
    // The files' settings, with the database and addresses of this machine.
    const envFor = (service: ComposeService, name: string) =>
      cliEnv(tmp, name, {
        ...service.environment,
        DATABASE_URL: url,
        TWINMCP_HOST: '127.0.0.1',
        TWINMCP_PORT: '0',
        TWINMCP_LOG_LEVEL: 'warn',
      });
    const s = compose.services;
    try {
      // 1. The one-shot migration: compose's service and the Kubernetes Job run the same argv.
      assert.deepEqual(k8sContainer('Job', 'twinmcp-migrate').args, s.migrate!.command);
      const migrate = await runProcess(process.execPath, [CLI, ...s.migrate!.command!], {
        cwd: REPO_ROOT,
        env: envFor(s.migrate!, 'migrate'),
        timeoutMs: 300_000,
      });
      assert.equal(migrate.code, 0, showRun(migrate));

      // 2. The API, as many times as compose runs it.
      const apiArgs = s.api!.command!;
      assert.deepEqual(k8sContainer('Deployment', 'twinmcp-api').args, apiArgs);
      const ports: number[] = [];
      for (let i = 0; i < s.api!.deploy!.replicas!; i++) {
        const api = await startCli(
          apiArgs,
          envFor(s.api!, `api${i}`),
          /TwinMCP listening on http:\/\/127\.0\.0\.1:(\d+)/,
        );
        running.push(api);
        ports.push(Number(api.match[1]));
      }

      // 3. The worker.
      assert.deepEqual(k8sContainer('Deployment', 'twinmcp-worker').args, s.worker!.command);
      running.push(
        await startCli(s.worker!.command!, envFor(s.worker!, 'worker'), /TwinMCP worker running/),
      );

      // 4. Probes: Kubernetes' paths, and compose's health check command as written.
      const api = k8sContainer('Deployment', 'twinmcp-api');
      const healthcheck = s.api!.healthcheck!.test;
      assert.equal(healthcheck[0], 'CMD');
      for (const port of ports) {
        for (const path of [api.readinessProbe!.httpGet.path, api.livenessProbe!.httpGet.path]) {
          const res = await fetch(`http://127.0.0.1:${port}${path}`);
          assert.equal(res.status, 200, `${path} on ${port}: ${await res.text()}`);
        }
        const [exe, ...args] = healthcheck.slice(1).map((a) => a.replace('7377', String(port)));
        assert.equal(exe, 'node');
        const probe = await runProcess(process.execPath, args, { cwd: tmp, env: {} });
        assert.equal(probe.code, 0, showRun(probe));
      }

      // 5. An indexing job queued on one API (--no-worker) is run by the worker and answered by
      // the other API: the three processes share only the database.
      const docs = join(tmp, 'docs');
      mkdirSync(docs, { recursive: true });
      writeFileSync(
        join(docs, 'README.md'),
        '# Sprocket\n\n## Spin\n\nCall `sprocket.spin({ rpm: 60 })` to spin the sprocket.\n',
      );
      const lock = JSON.parse(readFileSync(`${join(tmp, 'api0')}.lock`, 'utf8')) as {
        adminToken: string;
      };
      const added = await fetch(`http://127.0.0.1:${ports[0]}/api/v1/libs`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${lock.adminToken}`,
        },
        body: JSON.stringify({ source: docs, libraryId: '/acme/sprocket', name: 'Sprocket' }),
      });
      assert.equal(added.status, 202, await added.clone().text());
      const { job } = (await added.json()) as { job: { id: string } };
      const deadline = Date.now() + 300_000;
      let state = '';
      while (Date.now() < deadline) {
        const res = await fetch(`http://127.0.0.1:${ports[1]}/api/v1/jobs/${job.id}`);
        state = ((await res.json()) as { job: { state: string } }).job.state;
        if (state === 'succeeded' || state === 'failed') break;
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(state, 'succeeded', running.map((p) => p.output()).join('\n---\n'));
      const answer = await fetch(
        `http://127.0.0.1:${ports[1]}/api/v1/context?libraryId=/acme/sprocket&query=spin`,
      );
      assert.equal(answer.status, 200);
      assert.match(await answer.text(), /sprocket\.spin/);

      // 6. SIGTERM, as `docker compose down` and Kubernetes send: every process exits 0.
      for (const p of running) p.child.kill('SIGTERM');
      for (const p of running) assert.equal(await p.exit, 0, p.output());
    } finally {
      for (const p of running) p.child.kill('SIGKILL');
      await server.dropDatabase(url);
    }
  });
});
