import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAccount } from '../../server/accounts/accounts.js';
import { decideDeviceCode, normalizeUserCode } from '../../server/accounts/device-flow.js';
import type { Db } from '../../server/db/db.js';
import type { ServerEvent } from '../../shared/chat.js';
import { ApiError, apiUrl, ServerClient } from '../../extension/client.js';
import { pollForKey, requestDeviceCode, type DeviceCode } from '../../extension/device-flow.js';
import { SseParser } from '../../extension/sse.js';
import { openTestPglite } from '../helpers/backends.js';
import { freePort, startApp, type RunningApp } from '../helpers/signin-browser.js';

const clientFor = (url: string, key?: string) =>
  new ServerClient({ serverUrl: () => url, key: async () => key });

/** A loopback server answering from a script of [status, body] pairs, recording the bodies. */
async function scripted(replies: [number, unknown][]) {
  const seen: unknown[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      seen.push(text ? JSON.parse(text) : null);
      const [status, body] = replies.shift() ?? [
        500,
        { error: 'internal_error', message: 'script ended' },
      ];
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('extension client: SSE framing and URLs', () => {
  it('splits messages across chunks and line endings, skips comments', () => {
    const p = new SseParser();
    assert.deepEqual(p.push('event: delta\ndata: {"a"'), []);
    assert.deepEqual(p.push(':1}\n:keepalive\r\n'), []);
    assert.deepEqual(p.push('\nevent: done\r\ndata: x\r\ndata: y\r\n\r\n'), [
      { event: 'delta', data: '{"a":1}' },
      { event: 'done', data: 'x\ny' },
    ]);
  });

  it('keeps a path prefix of the server URL and drops undefined query values', () => {
    const url = apiUrl('https://docs.example.test/twinmcp/', '/api/v1/libs/search', {
      libraryName: 'zod',
      query: undefined,
    });
    assert.equal(
      url.toString(),
      'https://docs.example.test/twinmcp/api/v1/libs/search?libraryName=zod',
    );
  });
});

describe('extension client: errors', () => {
  it('says the server is unreachable, with the URL and what to do', async () => {
    const port = await freePort();
    const err = await clientFor(`http://127.0.0.1:${port}`)
      .json('/api/v1/libs')
      .catch((e: unknown) => e);
    assert.ok(err instanceof ApiError);
    assert.equal(err.code, 'network');
    assert.match(
      err.message,
      new RegExp(`127\\.0\\.0\\.1:${port}.*connection refused.*twinmcp serve`),
    );
  });

  it('uses the server message and code; non-JSON answers name the status', async () => {
    const s = await scripted([
      [404, { error: 'library_not_found', message: 'Library /x/y is not indexed.' }],
      [502, 'Bad gateway'],
    ]);
    try {
      const a = await clientFor(s.url)
        .json('/api/v1/libs')
        .catch((e: unknown) => e);
      assert.ok(a instanceof ApiError);
      assert.equal(a.code, 'library_not_found');
      assert.equal(a.message, 'Library /x/y is not indexed.');
      const b = await clientFor(s.url)
        .json('/api/v1/libs')
        .catch((e: unknown) => e);
      assert.ok(b instanceof ApiError);
      assert.equal(b.status, 502);
      assert.match(b.message, /answered HTTP 502/);
    } finally {
      await s.close();
    }
  });

  it('refuses a server URL that is not http(s)', async () => {
    const err = await clientFor('ftp://example.test')
      .json('/x')
      .catch((e: unknown) => e);
    assert.ok(err instanceof ApiError);
    assert.equal(err.code, 'bad_url');
  });
});

describe('extension device flow polling (scripted server)', () => {
  const code = (over: Partial<DeviceCode> = {}): DeviceCode => ({
    device_code: 'dc',
    user_code: 'BCDF-GHJK',
    verification_uri: 'http://x/device',
    expires_in: 600,
    interval: 2,
    ...over,
  });
  const pending = [400, { error: 'authorization_pending', error_description: 'wait' }] as [
    number,
    unknown,
  ];

  it('waits the interval, adds 5 s on slow_down and returns the issued key', async () => {
    const s = await scripted([
      pending,
      [400, { error: 'slow_down', error_description: 'too fast' }],
      pending,
      [200, { access_token: 'tmcp_abc', token_type: 'Bearer' }],
    ]);
    const waits: number[] = [];
    try {
      const key = await pollForKey(clientFor(s.url), code(), {
        signal: new AbortController().signal,
        sleep: async (ms) => void waits.push(ms),
      });
      assert.equal(key, 'tmcp_abc');
      assert.deepEqual(waits, [2000, 2000, 7000, 7000]);
      assert.deepEqual(s.seen[0], {
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: 'dc',
      });
    } finally {
      await s.close();
    }
  });

  it('stops at expiry, on denial and on cancel', async () => {
    const s = await scripted([
      pending,
      pending,
      [400, { error: 'access_denied', message: 'The user denied the request' }],
    ]);
    try {
      let clock = 0;
      const expired = await pollForKey(clientFor(s.url), code({ expires_in: 5 }), {
        signal: new AbortController().signal,
        now: () => clock,
        sleep: async (ms) => void (clock += ms),
      }).catch((e: unknown) => e);
      assert.ok(expired instanceof ApiError);
      assert.equal(expired.code, 'expired_token');
      assert.equal(s.seen.length, 2, 'polls at 2 s and 4 s, not after 6 s');

      const denied = await pollForKey(clientFor(s.url), code(), {
        signal: new AbortController().signal,
        sleep: async () => {},
      }).catch((e: unknown) => e);
      assert.ok(denied instanceof ApiError);
      assert.equal(denied.code, 'access_denied');

      const controller = new AbortController();
      const started = Date.now();
      setTimeout(() => controller.abort(), 50);
      const cancelled = await pollForKey(clientFor(s.url), code({ interval: 30 }), {
        signal: controller.signal,
      }).catch((e: unknown) => e);
      assert.ok(cancelled instanceof ApiError);
      assert.equal(cancelled.code, 'cancelled');
      assert.ok(Date.now() - started < 5000, 'the 30 s wait ended at the cancel');
    } finally {
      await s.close();
    }
  });
});

describe('extension client against a real TwinMCP server', function () {
  let db: Db;
  let running: RunningApp;
  before(async () => {
    db = await openTestPglite();
    running = await startApp(db, {
      TWINMCP_AUTH: 'on',
      TWINMCP_ANONYMOUS: 'deny',
      TWINMCP_DEVICE_POLL_INTERVAL_SECONDS: '1',
    });
  });
  after(async () => {
    await running?.close();
    await db?.close();
  });

  it('signs in by device flow and calls the account route with the issued key', async () => {
    const client = clientFor(running.base);
    const unauthorized = await client.json('/api/v1/account').catch((e: unknown) => e);
    assert.ok(unauthorized instanceof ApiError);
    assert.equal(unauthorized.status, 401);
    assert.match(unauthorized.message, /Sign In/);

    const code = await requestDeviceCode(client);
    assert.equal(code.interval, 1);
    assert.equal(code.verification_uri, `${running.base}/device`);
    const account = await createAccount(db, { email: 'vscode@example.com', name: 'Ext User' });
    // The person approves while the extension polls: the first poll is pending, a later one issues.
    setTimeout(() => {
      void decideDeviceCode(db, normalizeUserCode(code.user_code)!, {
        approve: true,
        accountId: account.id,
      });
    }, 1300);
    const key = await pollForKey(client, code, { signal: new AbortController().signal });
    assert.match(key, /^tmcp_/);
    const me = await clientFor(running.base, key).json<{ account: { email: string } }>(
      '/api/v1/account',
    );
    assert.equal(me.account.email, 'vscode@example.com');
  });

  it('streams a chat answer as server events and cancels by aborting', async () => {
    const account = await createAccount(db, { email: 'chat@example.com' });
    const { createApiKey } = await import('../../server/accounts/keys.js');
    const { key } = await createApiKey(db, account.id, { name: 'test' });
    const client = clientFor(running.base, key);
    const events: ServerEvent[] = [];
    for await (const e of client.chat(
      { id: 'q1', text: 'how do I define a schema?' },
      new AbortController().signal,
    )) {
      events.push(e);
    }
    assert.ok(events.length > 0);
    assert.ok(
      events.every((e) => e.id === 'q1'),
      JSON.stringify(events),
    );
    const last = events.at(-1)!;
    assert.ok(last.type === 'done' || last.type === 'error', JSON.stringify(last));
    if (last.type === 'done') assert.equal(last.retrievalOnly, true);

    const controller = new AbortController();
    controller.abort();
    const cancelled = await (async () => {
      for await (const _ of client.chat({ text: 'x' }, controller.signal)) void _;
    })().catch((e: unknown) => e);
    assert.ok(cancelled instanceof ApiError);
    assert.equal(cancelled.code, 'cancelled');
  });
});
