import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { findAccountByEmail } from '../../server/accounts/accounts.js';
import {
  consumeSigninToken,
  createSigninToken,
  createSession,
  findSession,
  SIGNIN_TOKEN_TTL_MS,
} from '../../server/accounts/session-store.js';
import { describeBackends } from '../helpers/backends.js';
import { FakeGithub } from '../helpers/fake-github.js';
import { Browser, startApp, type RunningApp } from '../helpers/signin-browser.js';

/** Undoes quoted-printable (soft line breaks and =XX escapes) in a raw mail. */
function decodeQuotedPrintable(raw: string): string {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

describeBackends('web sign-in', (ctx) => {
  const mails: { to: string[]; raw: string }[] = [];
  let smtp: SMTPServer;
  let github: FakeGithub;
  let running: RunningApp;

  before(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, done) {
        let raw = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => (raw += chunk));
        stream.on('end', () => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
          done();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const smtpPort = (smtp.server.address() as AddressInfo).port;
    github = new FakeGithub('gh-client', 'gh-secret', {
      login: 'octocat',
      name: 'The Octocat',
      emails: [
        { email: 'octo-old@example.com', primary: false, verified: true },
        { email: 'Octocat@Example.com', primary: true, verified: true },
      ],
    });
    await github.start();
    running = await startApp(ctx.db(), {
      TWINMCP_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      TWINMCP_MAIL_FROM: 'TwinMCP <signin@twinmcp.test>',
      TWINMCP_GITHUB_CLIENT_ID: 'gh-client',
      TWINMCP_GITHUB_CLIENT_SECRET: 'gh-secret',
      TWINMCP_GITHUB_URL: github.url,
      TWINMCP_GITHUB_API_URL: github.apiUrl,
    });
  });

  after(async () => {
    await running?.close();
    await github?.stop();
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  });

  async function mailedLink(to: string): Promise<string> {
    for (let i = 0; i < 100; i++) {
      const mail = mails.find((m) => m.to.some((a) => a.toLowerCase() === to.toLowerCase()));
      if (mail) {
        mails.splice(mails.indexOf(mail), 1);
        const text = decodeQuotedPrintable(mail.raw);
        const link = /https?:\/\/[^\s"<>]+\/signin\/email\/confirm\?token=[A-Za-z0-9_%-]+/.exec(
          text,
        );
        assert.ok(link, `no sign-in link in the mail:\n${text}`);
        return link[0];
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no mail reached ${to}; got ${JSON.stringify(mails.map((m) => m.to))}`);
  }

  it('signs in by email magic link: mail over SMTP, confirm, session cookie, account created', async () => {
    const browser = new Browser();
    const page = await browser.navigate(`${running.base}/signin`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const sent = await browser.submit(page, { email: 'Ada@Example.com' }, '/signin/email');
    assert.equal(sent.status, 200);
    assert.match(sent.text, /Check your email/);

    const link = await mailedLink('Ada@Example.com');
    assert.ok(link.startsWith(`${running.base}/signin/email/confirm?token=`));
    // Opening the link only shows a button: a mail scanner fetching it signs nobody in.
    const confirm = await browser.navigate(link);
    assert.equal(confirm.status, 200);
    assert.equal(browser.cookie('127.0.0.1', 'tmcp_session'), undefined);
    const signedIn = await browser.submit(confirm, {}, '/signin/email/confirm');
    assert.equal(signedIn.status, 200);
    assert.match(signedIn.text, /Signed in as <strong>ada@example.com<\/strong>/);

    const account = await findAccountByEmail(ctx.db(), 'ada@example.com');
    assert.ok(account, 'account created on first sign-in');
    assert.equal(account.plan, running.config.accounts?.defaultPlan ?? 'free');

    // The token is single use: the same link now fails, and a replayed POST too.
    const again = await new Browser().navigate(link);
    assert.equal(again.status, 400);
    assert.match(again.text, /expired or was already used/);
  });

  it('sets the session cookie HttpOnly, SameSite=Lax and signed; a tampered cookie is no session', async () => {
    const browser = new Browser();
    await browser.submit(
      await browser.navigate(`${running.base}/signin`),
      { email: 'cookie@example.com' },
      '/signin/email',
    );
    const confirm = await browser.navigate(await mailedLink('cookie@example.com'));
    const res = await browser.request(`${running.base}/signin/email/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: running.base },
      body: new URLSearchParams({
        token: /name="token" value="([^"]+)"/.exec(confirm.text)![1]!,
        csrf: /name="csrf" value="([^"]+)"/.exec(confirm.text)![1]!,
      }).toString(),
    });
    assert.equal(res.status, 303);
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('tmcp_session='));
    assert.ok(setCookie);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Lax/);
    assert.match(setCookie, /Max-Age=\d+/);
    const value = decodeURIComponent(setCookie.split(';')[0]!.slice('tmcp_session='.length));
    const [token, signature] = [
      value.slice(0, value.lastIndexOf('.')),
      value.slice(value.lastIndexOf('.') + 1),
    ];
    assert.ok(token && signature);
    // The stored id is the token's hash, never the token.
    const rows = await ctx.db().query<{ id_hash: string }>('SELECT id_hash FROM sessions');
    assert.ok(rows.every((r) => r.id_hash !== token));
    assert.ok(await findSession(ctx.db(), token));

    const forged = await fetch(`${running.base}/signin`, {
      headers: {
        cookie: `tmcp_session=${encodeURIComponent(`${token}.AAAA${signature.slice(4)}`)}`,
      },
    });
    assert.doesNotMatch(await forged.text(), /Signed in as/);
    const genuine = await fetch(`${running.base}/signin`, {
      headers: { cookie: `tmcp_session=${encodeURIComponent(value)}` },
    });
    assert.match(await genuine.text(), /Signed in as <strong>cookie@example.com/);
  });

  it('refuses form posts without the CSRF token and sends no mail', async () => {
    const before = mails.length;
    const res = await fetch(`${running.base}/signin/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: running.base },
      body: 'email=victim%40example.com',
    });
    assert.equal(res.status, 403);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(mails.length, before);
  });

  it('rejects a cross-site form post by its Origin before any handler runs', async () => {
    const res = await fetch(`${running.base}/signout`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://evil.example',
      },
      body: 'csrf=x',
    });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: string }).error, 'forbidden');
  });

  it('signs in with GitHub (code + state + PKCE, primary verified email) and returns to `next`', async () => {
    const browser = new Browser();
    const page = await browser.navigate(
      `${running.base}/signin/github?next=${encodeURIComponent('/signin?from=gh')}`,
    );
    // The walk: /signin/github -> fake authorize -> /signin/github/callback -> next.
    assert.ok(browser.visited.some((u) => u.startsWith(`${github.url}/login/oauth/authorize?`)));
    const authorize = new URL(browser.visited.find((u) => u.includes('/login/oauth/authorize'))!);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(
      authorize.searchParams.get('redirect_uri'),
      `${running.base}/signin/github/callback`,
    );
    assert.equal(page.status, 200);
    assert.match(page.text, /Signed in as <strong>octocat@example.com<\/strong>/);
    const account = await findAccountByEmail(ctx.db(), 'octocat@example.com');
    assert.equal(account?.name, 'The Octocat');
    assert.ok(github.tokenRequests.at(-1)?.get('code_verifier'));
  });

  it('refuses a GitHub callback whose state does not match the browser', async () => {
    const browser = new Browser();
    const start = await browser.request(`${running.base}/signin/github`);
    assert.equal(start.status, 302);
    const res = await browser.request(
      `${running.base}/signin/github/callback?code=abc&state=forged`,
    );
    assert.equal(res.status, 400);
    assert.match(res.text, /does not match this browser/);
    // Without the round-trip cookie at all: expired.
    const bare = await new Browser().request(
      `${running.base}/signin/github/callback?code=abc&state=x`,
    );
    assert.equal(bare.status, 400);
  });

  it('refuses a GitHub account without a verified primary email', async () => {
    const saved = github.user;
    github.user = {
      login: 'nomail',
      name: null,
      emails: [{ email: 'x@example.com', primary: true, verified: false }],
    };
    try {
      const page = await new Browser().navigate(`${running.base}/signin/github`);
      assert.equal(page.status, 400);
      assert.match(page.text, /no verified primary email/);
      assert.equal(await findAccountByEmail(ctx.db(), 'x@example.com'), null);
    } finally {
      github.user = saved;
    }
  });

  it('never redirects off-site after sign-in (next=//evil.example falls back to /signin)', async () => {
    const browser = new Browser();
    const start = await browser.request(
      `${running.base}/signin/github?next=${encodeURIComponent('//evil.example/x')}`,
    );
    assert.equal(start.status, 302);
    const page = await browser.navigate(start.headers.get('location')!);
    assert.ok(page.url.startsWith(`${running.base}/signin`), page.url);
  });

  it('signs out: the session row is gone and the cookie cleared', async () => {
    const browser = new Browser();
    const page = await browser.navigate(`${running.base}/signin/github`);
    assert.match(page.text, /Signed in as/);
    const signed = decodeURIComponent(browser.cookie('127.0.0.1', 'tmcp_session')!);
    const token = signed.slice(0, signed.lastIndexOf('.'));
    assert.ok(await findSession(ctx.db(), token));
    const out = await browser.submit(page, {}, '/signout');
    assert.equal(out.status, 200);
    assert.doesNotMatch(out.text, /Signed in as/);
    assert.equal(browser.cookie('127.0.0.1', 'tmcp_session'), undefined);
    assert.equal(await findSession(ctx.db(), token), null);
  });

  it('expires sign-in tokens after 15 minutes and sessions at their expiry (injected clock)', async () => {
    const db = ctx.db();
    const t0 = new Date('2030-01-01T00:00:00Z');
    const token = await createSigninToken(db, 'clock@example.com', '/signin', t0);
    const late = new Date(t0.getTime() + SIGNIN_TOKEN_TTL_MS + 1);
    assert.equal(await consumeSigninToken(db, token, late), null);
    const fresh = await createSigninToken(db, 'clock@example.com', '/signin', t0);
    assert.deepEqual(await consumeSigninToken(db, fresh, new Date(t0.getTime() + 60_000)), {
      email: 'clock@example.com',
      nextPath: '/signin',
    });
    assert.equal(await consumeSigninToken(db, fresh, new Date(t0.getTime() + 61_000)), null);

    const account = await findAccountByEmail(db, 'ada@example.com');
    const session = await createSession(db, account!.id, 'email', 3_600_000, t0);
    assert.ok(await findSession(db, session.token, new Date(t0.getTime() + 3_599_000)));
    assert.equal(await findSession(db, session.token, new Date(t0.getTime() + 3_600_000)), null);
  });
});
