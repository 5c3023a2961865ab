/**
 * A local fake of GitHub's OAuth web flow and the two REST endpoints sign-in reads, in GitHub's
 * JSON shapes: `/login/oauth/authorize` (the user approves at once), `/login/oauth/access_token`
 * (form in, JSON out with `Accept: application/json`; a bad code is a 200 with `error`), and
 * `/user`, `/user/emails` under `/api/v3` (the GitHub Enterprise layout).
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeGithubUser {
  login: string;
  name: string | null;
  emails: { email: string; primary: boolean; verified: boolean }[];
}

interface Grant {
  redirectUri: string;
  challenge: string | null;
}

export class FakeGithub {
  private server: http.Server | undefined;
  private readonly codes = new Map<string, Grant>();
  private readonly tokens = new Set<string>();
  port = 0;
  /** What the fake's token endpoint was sent, for assertions. */
  readonly tokenRequests: URLSearchParams[] = [];

  constructor(
    readonly clientId: string,
    readonly clientSecret: string,
    public user: FakeGithubUser,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get apiUrl(): string {
    return `${this.url}/api/v3`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url ?? '/', this.url);
    const json = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(value));
    };

    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      const q = url.searchParams;
      const redirect = q.get('redirect_uri');
      if (q.get('client_id') !== this.clientId || !redirect) {
        res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>404</h1>');
        return;
      }
      const code = randomBytes(10).toString('hex');
      this.codes.set(code, { redirectUri: redirect, challenge: q.get('code_challenge') });
      const back = new URL(redirect);
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') ?? '');
      res.writeHead(302, { location: back.href }).end();
      return;
    }

    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      const form = new URLSearchParams(body);
      this.tokenRequests.push(form);
      const grant = this.codes.get(form.get('code') ?? '');
      this.codes.delete(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const pkceOk =
        !grant?.challenge ||
        createHash('sha256').update(verifier).digest('base64url') === grant.challenge;
      if (
        form.get('client_id') !== this.clientId ||
        form.get('client_secret') !== this.clientSecret
      ) {
        json(200, {
          error: 'incorrect_client_credentials',
          error_description: 'The client_id and/or client_secret passed are incorrect.',
          error_uri:
            'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials',
        });
        return;
      }
      if (!grant || !pkceOk || grant.redirectUri !== form.get('redirect_uri')) {
        json(200, {
          error: 'bad_verification_code',
          error_description: 'The code passed is incorrect or expired.',
          error_uri:
            'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code',
        });
        return;
      }
      const token = `gho_${randomBytes(18).toString('base64url')}`;
      this.tokens.add(token);
      json(200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
      return;
    }

    if (req.method === 'GET' && url.pathname.startsWith('/api/v3/')) {
      const auth = req.headers.authorization ?? '';
      const token = /^(?:Bearer|token)\s+(\S+)$/i.exec(auth)?.[1];
      if (!token || !this.tokens.has(token)) {
        json(401, {
          message: 'Bad credentials',
          documentation_url: 'https://docs.github.com/rest',
          status: '401',
        });
        return;
      }
      if (url.pathname === '/api/v3/user') {
        json(200, {
          login: this.user.login,
          id: 1234567,
          node_id: 'MDQ6VXNlcjEyMzQ1Njc=',
          type: 'User',
          name: this.user.name,
          email: null,
        });
        return;
      }
      if (url.pathname === '/api/v3/user/emails') {
        json(
          200,
          this.user.emails.map((e) => ({ ...e, visibility: e.primary ? 'private' : null })),
        );
        return;
      }
    }
    json(404, {
      message: 'Not Found',
      documentation_url: 'https://docs.github.com/rest',
      status: '404',
    });
  }
}
