/**
 * The bootstrap CLI on an embedded data directory: `twinmcp accounts create` and
 * `twinmcp keys create|list|revoke`, their usage errors, and the clear refusal while a server
 * holds the data directory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyApiKey } from '../../server/accounts/keys.js';
import { main } from '../../server/cli/main.js';
import { openPglite } from '../../server/db/pglite.js';
import { acquireLock } from '../../server/lock.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

describe('accounts and keys CLI', function () {
  // Each command opens the embedded database (~2-5 s idle, the first with initdb); a loaded
  // shared machine has been seen 10x slower.
  this.timeout(300_000);
  let tmp: string;
  let env: NodeJS.ProcessEnv;

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-acct-cli-'));
    env = { TWINMCP_DATA_DIR: join(tmp, 'data'), TWINMCP_LOG_LEVEL: 'silent' };
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  async function run(...argv: string[]): Promise<Run> {
    let out = '';
    let err = '';
    const code = await main(argv, {
      env,
      cwd: tmp,
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: (t: string) => (err += t) },
    });
    return { code, out, err };
  }

  let key = '';
  let keyId = '';

  it('creates an admin account, refuses a duplicate email and an unknown plan', async () => {
    const created = await run(
      'accounts',
      'create',
      '--email',
      'Ops@Example.com',
      '--name',
      'Ops',
      '--admin',
    );
    assert.equal(created.code, 0, created.err);
    assert.match(created.out, /^acct_\S+\n$/);
    assert.match(created.err, /ops@example\.com.*admin/);
    assert.match(created.err, /twinmcp keys create --account ops@example\.com/);
    const again = await run('accounts', 'create', '--email', 'ops@example.com');
    assert.equal(again.code, 2);
    assert.match(again.err, /already exists/);
    const badPlan = await run(
      'accounts',
      'create',
      '--email',
      'x@example.com',
      '--plan',
      'platinum',
    );
    assert.equal(badPlan.code, 2);
    assert.match(badPlan.err, /Unknown plan "platinum"; plans: anonymous, free, pro, team/);
    assert.equal(
      (await run('accounts', 'create', '--email', 'dev@example.com', '--plan', 'pro')).code,
      0,
    );
    const list = await run('accounts', 'list');
    assert.match(list.out, /ops@example\.com\s+"Ops"\s+plan free\s+admin\n/);
    assert.match(list.out, /dev@example\.com\s+plan pro\n/);
  });

  it('creates a key and prints it once, lists it without the secret, and revokes it', async () => {
    const created = await run(
      'keys',
      'create',
      '--account',
      'ops@example.com',
      '--name',
      'ci',
      '--admin',
    );
    assert.equal(created.code, 0, created.err);
    key = created.out.trim();
    assert.match(key, /^tmcp_[A-Za-z0-9_-]{43}$/);
    assert.match(created.err, /only time it is shown/);
    keyId = /key (key_\S+)/.exec(created.err)?.[1] ?? '';
    assert.ok(keyId);
    const listed = await run('keys', 'list', '--account', 'ops@example.com');
    assert.equal(listed.code, 0);
    assert.match(listed.out, new RegExp(`${keyId}\\s+${key.slice(0, 11)}…\\s+ci\\s+\\(admin\\)`));
    assert.ok(!listed.out.includes(key), 'the secret is never listed');

    const db = await openPglite({ dataDir: join(tmp, 'data') });
    try {
      const v = await verifyApiKey(db, key);
      assert.equal(v?.account.email, 'ops@example.com');
      assert.equal(v?.admin, true);
    } finally {
      await db.close();
    }

    assert.equal((await run('keys', 'revoke', keyId, '--account', 'ops@example.com')).code, 0);
    const again = await run('keys', 'revoke', keyId, '--account', 'ops@example.com');
    assert.equal(again.code, 3);
    assert.match(again.err, /no active key/);
  });

  it('explains usage mistakes: unknown account, admin key for a plain account, missing --account', async () => {
    const missing = await run('keys', 'create', '--account', 'nobody@example.com');
    assert.equal(missing.code, 2);
    assert.match(
      missing.err,
      /No account nobody@example\.com\. Create it with `twinmcp accounts create/,
    );
    const notAdmin = await run('keys', 'create', '--account', 'dev@example.com', '--admin');
    assert.equal(notAdmin.code, 2);
    assert.match(notAdmin.err, /not an admin account/);
    const noAccount = await run('keys', 'create');
    assert.equal(noAccount.code, 2);
    assert.match(noAccount.err, /--account/);
    const badEmail = await run('accounts', 'create', '--email', 'not-an-email');
    assert.equal(badEmail.code, 2);
  });

  it('refuses clearly while a server holds the embedded database', async () => {
    const lock = await acquireLock(join(tmp, 'data.lock'), {
      pid: process.pid,
      port: 7377,
      adminToken: 'x',
      dataDir: join(tmp, 'data'),
      command: 'serve',
    });
    try {
      const res = await run('keys', 'list', '--account', 'ops@example.com');
      assert.equal(res.code, 2);
      assert.match(
        res.err,
        /open in process \d+ \(twinmcp serve\)\. Stop that server .*DATABASE_URL/,
      );
    } finally {
      await lock.release();
    }
  });
});
