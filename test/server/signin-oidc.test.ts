import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
// @ts-expect-error oidc-provider ships no type declarations; only its documented API is used.
import { Provider } from 'oidc-provider';
import { findAccountByEmail } from '../../server/accounts/accounts.js';
import { describeBackends } from '../helpers/backends.js';
import { Browser, freePort, startApp, type RunningApp } from '../helpers/signin-browser.js';

interface UserClaims {
  email: string;
  email_verified: boolean;
  name: string;
}

const USERS: Record<string, UserClaims> = {
  alice: { email: 'Alice@Example.org', email_verified: true, name: 'Alice Liddell' },
  mallory: { email: 'mallory@example.org', email_verified: false, name: 'Mallory' },
};

/** Minimal typing of the oidc-provider calls this test makes. */
interface OidcProvider {
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  interactionDetails(
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<{
    prompt: { name: string };
    params: Record<string, unknown>;
    session?: { accountId: string };
  }>;
  interactionFinished(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    result: Record<string, unknown>,
    opts?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  Grant: new (opts: { accountId: string; clientId: string }) => {
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  };
}

describeBackends('OpenID Connect sign-in', (ctx) => {
  let provider: OidcProvider;
  let issuerServer: http.Server;
  let issuer: string;
  let running: RunningApp;
  /** Who "logs in" at the provider; 'deny' makes the provider answer access_denied. */
  let user = 'alice';
  const authorizeRequests: URLSearchParams[] = [];

  before(async () => {
    const issuerPort = await freePort();
    issuer = `http://127.0.0.1:${issuerPort}`;
    const appPort = await freePort();
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = {
      ...privateKey.export({ format: 'jwk' }),
      kid: 'test-key',
      alg: 'RS256',
      use: 'sig',
    };
    provider = new Provider(issuer, {
      clients: [
        {
          client_id: 'twinmcp-web',
          client_secret: 'oidc-client-secret',
          redirect_uris: [`http://127.0.0.1:${appPort}/signin/oidc/callback`],
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      jwks: { keys: [jwk] },
      cookies: { keys: ['oidc-test-cookie-key'] },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      features: { devInteractions: { enabled: false } },
      // Explicit lifetimes (seconds) keep the provider from printing a notice per artifact.
      ttl: {
        Interaction: 600,
        Session: 600,
        Grant: 600,
        AccessToken: 600,
        IdToken: 600,
        AuthorizationCode: 60,
      },
      interactions: {
        url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
      },
      findAccount: async (_ctx: unknown, sub: string) => ({
        accountId: sub,
        claims: async () => ({ sub, ...USERS[sub] }),
      }),
    }) as OidcProvider;
    const handler = provider.callback();
    issuerServer = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', issuer);
      if (url.pathname === '/auth') authorizeRequests.push(url.searchParams);
      if (!url.pathname.startsWith('/interaction/')) return handler(req, res);
      void (async () => {
        // The provider's login and consent screens, answered at once for the current user.
        const details = await provider.interactionDetails(req, res);
        if (user === 'deny') {
          await provider.interactionFinished(req, res, {
            error: 'access_denied',
            error_description: 'The user said no',
          });
        } else if (details.prompt.name === 'login') {
          await provider.interactionFinished(req, res, { login: { accountId: user } });
        } else {
          const grant = new provider.Grant({
            accountId: details.session!.accountId,
            clientId: String(details.params.client_id),
          });
          grant.addOIDCScope(String(details.params.scope));
          await provider.interactionFinished(
            req,
            res,
            { consent: { grantId: await grant.save() } },
            { mergeWithLastSubmission: true },
          );
        }
      })().catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
    await new Promise<void>((resolve) => issuerServer.listen(issuerPort, '127.0.0.1', resolve));

    running = await startApp(ctx.db(), {
      TWINMCP_PORT: String(appPort),
      TWINMCP_PUBLIC_URL: `http://127.0.0.1:${appPort}`,
      TWINMCP_OIDC_ISSUER: issuer,
      TWINMCP_OIDC_CLIENT_ID: 'twinmcp-web',
      TWINMCP_OIDC_CLIENT_SECRET: 'oidc-client-secret',
      TWINMCP_OIDC_LABEL: 'Example ID',
    });
  });

  after(async () => {
    await running?.close();
    await new Promise<void>((resolve) =>
      issuerServer ? issuerServer.close(() => resolve()) : resolve(),
    );
  });

  it('offers the provider on the sign-in page', async () => {
    const page = await new Browser().navigate(`${running.base}/signin`);
    assert.match(page.text, /Sign in with Example ID/);
  });

  it('signs in with authorization code + PKCE + state + nonce and creates the account', async () => {
    user = 'alice';
    const browser = new Browser();
    const page = await browser.navigate(`${running.base}/signin/oidc`);
    const auth = authorizeRequests.at(-1)!;
    assert.equal(auth.get('response_type'), 'code');
    assert.equal(auth.get('code_challenge_method'), 'S256');
    assert.ok(auth.get('code_challenge') && auth.get('state') && auth.get('nonce'));
    assert.match(auth.get('scope') ?? '', /openid/);
    assert.equal(page.status, 200, page.text);
    assert.match(page.text, /Signed in as <strong>alice@example.org<\/strong>/);
    const account = await findAccountByEmail(ctx.db(), 'alice@example.org');
    assert.equal(account?.name, 'Alice Liddell');

    // A second sign-in finds the same account rather than making another.
    const again = await new Browser().navigate(`${running.base}/signin/oidc`);
    assert.match(again.text, /Signed in as <strong>alice@example.org/);
    const rows = await ctx.db().query("SELECT id FROM accounts WHERE email = 'alice@example.org'");
    assert.equal(rows.length, 1);
  });

  it('refuses an identity whose email the provider has not verified', async () => {
    user = 'mallory';
    const page = await new Browser().navigate(`${running.base}/signin/oidc`);
    assert.equal(page.status, 400);
    assert.match(page.text, /has not verified mallory@example.org/);
    assert.equal(await findAccountByEmail(ctx.db(), 'mallory@example.org'), null);
  });

  it('shows the provider refusal (access_denied) as a sign-in failure', async () => {
    user = 'deny';
    const page = await new Browser().navigate(`${running.base}/signin/oidc`);
    assert.equal(page.status, 400);
    assert.match(page.text, /Sign-in failed/);
    assert.match(page.text, /access_denied|said no/);
  });

  it('refuses a callback replayed in another browser (no round-trip cookie)', async () => {
    user = 'alice';
    const browser = new Browser();
    const start = await browser.request(`${running.base}/signin/oidc`);
    assert.equal(start.status, 302);
    // Follow the provider part by hand and stop at the redirect back to us.
    let page = await browser.request(start.headers.get('location')!);
    while (page.status >= 300 && page.status < 400) {
      const next = new URL(page.headers.get('location')!, page.url).href;
      if (next.startsWith(`${running.base}/signin/oidc/callback`)) {
        const stolen = await new Browser().request(next);
        assert.equal(stolen.status, 400);
        assert.match(stolen.text, /took too long or started elsewhere/);
        return;
      }
      page = await browser.request(next);
    }
    assert.fail('the provider never redirected back');
  });
});
