import assert from 'node:assert/strict';
import { createAccount } from '../../server/accounts/accounts.js';
import {
  createDeviceCode,
  decideDeviceCode,
  formatUserCode,
  normalizeUserCode,
  pollDeviceCode,
  type IssueKey,
} from '../../server/accounts/device-flow.js';
import { createApiKey } from '../../server/accounts/keys.js';
import { describeBackends } from '../helpers/backends.js';
import { FakeGithub } from '../helpers/fake-github.js';
import { Browser, startApp, type RunningApp } from '../helpers/signin-browser.js';

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

interface CodeResponse {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

describe('device flow user codes', () => {
  it('normalizes what people type and rejects what cannot be a code', () => {
    assert.equal(normalizeUserCode('wdjb-mjht'), 'WDJBMJHT');
    assert.equal(normalizeUserCode(' WDJB MJHT '), 'WDJBMJHT');
    assert.equal(normalizeUserCode('WDJB-MJH'), undefined);
    assert.equal(normalizeUserCode('AEIO-UAEI'), undefined); // vowels are not in the alphabet
    assert.equal(normalizeUserCode(42), undefined);
    assert.equal(formatUserCode('WDJBMJHT'), 'WDJB-MJHT');
  });
});

describeBackends('device authorization grant (RFC 8628)', (ctx) => {
  let github: FakeGithub;
  let running: RunningApp;

  before(async () => {
    github = new FakeGithub('gh-device', 'gh-device-secret', {
      login: 'devicer',
      name: 'Dev Icer',
      emails: [{ email: 'devicer@example.com', primary: true, verified: true }],
    });
    await github.start();
    running = await startApp(ctx.db(), {
      TWINMCP_AUTH: 'on',
      TWINMCP_ANONYMOUS: 'deny',
      TWINMCP_DEVICE_POLL_INTERVAL_SECONDS: '1',
      TWINMCP_GITHUB_CLIENT_ID: 'gh-device',
      TWINMCP_GITHUB_CLIENT_SECRET: 'gh-device-secret',
      TWINMCP_GITHUB_URL: github.url,
      TWINMCP_GITHUB_API_URL: github.apiUrl,
    });
  });

  after(async () => {
    await running?.close();
    await github?.stop();
  });

  const post = (path: string, body: string, type = 'application/x-www-form-urlencoded') =>
    fetch(`${running.base}${path}`, { method: 'POST', headers: { 'content-type': type }, body });

  const requestCode = async (): Promise<CodeResponse> => {
    const res = await post('/api/v1/auth/device/code', 'client_id=twinmcp-vscode&scope=docs');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    return (await res.json()) as CodeResponse;
  };

  const poll = async (deviceCode: string) => {
    const res = await post(
      '/api/v1/auth/device/token',
      new URLSearchParams({
        grant_type: GRANT,
        device_code: deviceCode,
        client_id: 'twinmcp-vscode',
      }).toString(),
    );
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };

  it('goes from a device code to a working API key (sign-in, approve, poll, call an API route)', async () => {
    const code = await requestCode();
    assert.match(code.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(code.verification_uri, `${running.base}/device`);
    assert.equal(
      code.verification_uri_complete,
      `${running.base}/device?user_code=${code.user_code}`,
    );
    assert.equal(code.expires_in, 600);
    assert.equal(code.interval, 1);

    const pending = await poll(code.device_code);
    assert.equal(pending.status, 400);
    assert.equal(pending.body.error, 'authorization_pending');
    const tooFast = await poll(code.device_code);
    assert.equal(tooFast.body.error, 'slow_down');
    assert.match(tooFast.body.error_description ?? '', /6 seconds/);

    // The person opens the link: not signed in, so sign-in first, and back to the code.
    const browser = new Browser();
    const signin = await browser.navigate(code.verification_uri_complete);
    assert.ok(signin.url.startsWith(`${running.base}/signin?next=`), signin.url);
    const link = /href="(\/signin\/github\?next=[^"]+)"/.exec(signin.text)?.[1];
    assert.ok(link, 'sign-in page offers GitHub');
    const confirm = await browser.navigate(`${running.base}${link.replace(/&amp;/g, '&')}`);
    assert.equal(confirm.status, 200, confirm.text);
    assert.match(confirm.text, new RegExp(code.user_code));
    assert.match(confirm.text, /devicer@example.com/);
    const done = await browser.submit(confirm, {}, '/device/decide');
    assert.equal(done.status, 200);
    assert.match(done.text, /Device connected/);

    const issued = await poll(code.device_code);
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    assert.equal(issued.body.token_type, 'Bearer');
    assert.match(issued.body.access_token ?? '', /^tmcp_/);

    const me = await fetch(`${running.base}/api/v1/account`, {
      headers: { authorization: `Bearer ${issued.body.access_token}` },
    });
    assert.equal(me.status, 200);
    const body = (await me.json()) as { account: { email: string } };
    assert.equal(body.account.email, 'devicer@example.com');
    const anonymous = await fetch(`${running.base}/api/v1/account`);
    assert.equal(anonymous.status, 401);

    // One approval, one key: the spent device code gets nothing more.
    const replay = await poll(code.device_code);
    assert.equal(replay.body.error, 'invalid_grant');
  });

  it('answers access_denied after the person denies, and accepts JSON bodies', async () => {
    const res = await post(
      '/api/v1/auth/device/code',
      JSON.stringify({ client_id: 'cli' }),
      'application/json',
    );
    const code = (await res.json()) as CodeResponse;
    const browser = new Browser();
    const signin = await browser.navigate(`${running.base}/device`);
    const link = /href="(\/signin\/github\?next=[^"]+)"/.exec(signin.text)![1]!;
    const enter = await browser.navigate(`${running.base}${link.replace(/&amp;/g, '&')}`);
    assert.match(enter.text, /Enter the code shown in your editor/);
    // Typed in lower case without the dash: still found.
    const typed = code.user_code.toLowerCase().replace('-', '');
    const confirm = await browser.submit(enter, { user_code: typed }, '/device');
    assert.equal(confirm.status, 200);
    const denied = await browser.submit(confirm, { decision: 'deny' }, '/device/decide');
    assert.match(denied.text, /Request denied/);
    const result = await fetch(`${running.base}/api/v1/auth/device/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: GRANT, device_code: code.device_code }),
    });
    assert.equal(result.status, 400);
    assert.deepEqual(Object.keys((await result.json()) as object).sort(), [
      'error',
      'error_description',
      'message',
    ]);
  });

  it('rejects the wrong grant type, a missing or unknown device code, and text/plain bodies', async () => {
    const wrong = await post(
      '/api/v1/auth/device/token',
      'grant_type=authorization_code&device_code=x',
    );
    assert.equal(((await wrong.json()) as { error: string }).error, 'unsupported_grant_type');
    const missing = await post(
      '/api/v1/auth/device/token',
      `grant_type=${encodeURIComponent(GRANT)}`,
    );
    assert.equal(((await missing.json()) as { error: string }).error, 'invalid_request');
    const unknown = await poll('not-a-device-code');
    assert.equal(unknown.body.error, 'invalid_grant');
    const text = await post('/api/v1/auth/device/code', 'client_id=x', 'text/plain');
    assert.equal(text.status, 415);
  });

  it('refuses an approval form without its CSRF token', async () => {
    const code = await requestCode();
    const browser = new Browser();
    const signin = await browser.navigate(code.verification_uri_complete);
    const link = /href="(\/signin\/github\?next=[^"]+)"/.exec(signin.text)![1]!;
    await browser.navigate(`${running.base}${link.replace(/&amp;/g, '&')}`);
    const forged = await browser.request(`${running.base}/device/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: running.base },
      body: new URLSearchParams({ user_code: code.user_code, decision: 'approve' }).toString(),
    });
    assert.equal(forged.status, 403);
    assert.equal((await poll(code.device_code)).body.error, 'authorization_pending');
  });

  it('adds 5 s per slow_down and expires codes (injected clock)', async () => {
    const db = ctx.db();
    const t0 = new Date('2030-06-01T12:00:00Z');
    const at = (s: number) => new Date(t0.getTime() + s * 1000);
    const never: IssueKey = () => Promise.reject(new Error('no key expected'));
    const code = await createDeviceCode(db, {
      clientId: 'c',
      scope: '',
      ttlSeconds: 600,
      intervalSeconds: 5,
      now: t0,
    });
    assert.equal(
      (await pollDeviceCode(db, code.deviceCode, never, at(0))).status,
      'authorization_pending',
    );
    assert.deepEqual(await pollDeviceCode(db, code.deviceCode, never, at(1)), {
      status: 'slow_down',
      interval: 10,
    });
    assert.deepEqual(await pollDeviceCode(db, code.deviceCode, never, at(10)), {
      status: 'slow_down',
      interval: 15,
    });
    assert.equal(
      (await pollDeviceCode(db, code.deviceCode, never, at(25))).status,
      'authorization_pending',
    );
    assert.equal(
      (await pollDeviceCode(db, code.deviceCode, never, at(600))).status,
      'expired_token',
    );

    // Approval after expiry is refused, and an approved code that expired issues nothing.
    assert.equal(await decideDeviceCode(db, code.userCode, { approve: false }, at(601)), false);
    const account = await createAccount(db, { email: 'clock-device@example.com' });
    const late = await createDeviceCode(db, {
      clientId: 'c',
      scope: '',
      ttlSeconds: 60,
      intervalSeconds: 5,
      now: t0,
    });
    assert.equal(
      await decideDeviceCode(db, late.userCode, { approve: true, accountId: account.id }, at(30)),
      true,
    );
    assert.equal(
      (await pollDeviceCode(db, late.deviceCode, never, at(61))).status,
      'expired_token',
    );
    const ok = await createDeviceCode(db, {
      clientId: 'c',
      scope: '',
      ttlSeconds: 60,
      intervalSeconds: 5,
      now: t0,
    });
    await decideDeviceCode(db, ok.userCode, { approve: true, accountId: account.id }, at(1));
    const issued = await pollDeviceCode(
      db,
      ok.deviceCode,
      (tx, id) => createApiKey(tx, id, { name: 't' }),
      at(2),
    );
    assert.equal(issued.status, 'issued');
  });
});
