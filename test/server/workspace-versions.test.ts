/**
 * Workspace versions: a client that sends its dependency versions gets the library version its
 * workspace uses, from query-docs and resolve, when the id or name does not name one.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '../../server/db/migrate.js';
import { MIGRATIONS } from '../../server/db/schema.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { versionsFromRange } from '../../server/search/versions.js';
import { describeBackends } from '../helpers/backends.js';

describe('versionsFromRange', () => {
  it('reads major.minor then major from npm-style ranges', () => {
    assert.deepEqual(versionsFromRange('^4.28.0'), ['4.28', '4']);
    assert.deepEqual(versionsFromRange('~5.1'), ['5.1', '5']);
    assert.deepEqual(versionsFromRange('4.x'), ['4']);
    assert.deepEqual(versionsFromRange('>=2.13 <3'), ['2.13', '2']);
    assert.deepEqual(versionsFromRange('latest'), []);
  });
});

describeBackends(
  'Workspace versions',
  ({ db }) => {
    describe('with two versions of one library', function () {
      let engine: TwinEngine;
      let tmp: string;

      before(async function () {
        this.timeout(120_000);
        tmp = mkdtempSync(join(tmpdir(), 'twinmcp-ws-'));
        engine = await createEngine({
          config: { dataDir: join(tmp, 'data') },
          db: db(),
          worker: true,
        });
        for (const [version, api] of [
          ['v1', 'widgetOld'],
          ['v2', 'widgetNew'],
        ] as const) {
          const dir = join(tmp, version);
          mkdirSync(dir);
          writeFileSync(
            join(dir, 'index.md'),
            `# Kit\n\nInstall with \`npm install kit\`.\n\n## Creating widgets\n\nCall \`${api}()\` to create a widget in Kit ${version}.\n\n\`\`\`sh\nnpm install kit\n\`\`\`\n`,
          );
          const job = await engine.addSource({
            source: dir,
            libraryId: '/acme/kit',
            version,
            latest: version === 'v2',
            trustedLocal: true,
          });
          const done = await engine.waitForJob(job.id);
          assert.equal(done.state, 'succeeded', done.error ?? '');
        }
      });

      after(async () => {
        await engine?.close();
        rmSync(tmp, { recursive: true, force: true });
      });

      it('answers the latest version without workspace information', async () => {
        const out = await engine.query('/acme/kit', 'create a widget', undefined, {
          client: 'mcp',
        });
        assert.equal(out.json.version, 'v2');
        assert.match(out.text, /widgetNew/);
      });

      it('answers the version the workspace locks', async () => {
        const ctx = { client: 'mcp' as const, workspaceDeps: { kit: '^1.4.2' } };
        const out = await engine.query('/acme/kit', 'create a widget', undefined, ctx);
        assert.equal(out.json.version, 'v1');
        assert.match(out.text, /widgetOld/);
        const [first] = await engine.resolve('kit', 'create a widget', ctx);
        assert.equal(first?.id, '/acme/kit/v1');
      });

      it('keeps an explicit version over the workspace one', async () => {
        const ctx = { client: 'mcp' as const, workspaceDeps: { kit: '^1.4.2' } };
        const out = await engine.query('/acme/kit/v2', 'create a widget', undefined, ctx);
        assert.equal(out.json.version, 'v2');
        const [first] = await engine.resolve('kit 2', undefined, ctx);
        assert.equal(first?.id, '/acme/kit/v2');
      });

      it('ignores a dependency range no stored version matches', async () => {
        const ctx = { client: 'mcp' as const, workspaceDeps: { kit: '^7.0.0' } };
        const out = await engine.query('/acme/kit', 'create a widget', undefined, ctx);
        assert.equal(out.json.version, 'v2');
      });
    });
  },
  { setup: (db) => migrate(db, MIGRATIONS).then(() => undefined) },
);
