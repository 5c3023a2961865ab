/**
 * The SSRF rule (server/net): address classes, names resolving to refused addresses (with an
 * injected resolver, refused before any socket opens), redirects, the pinned lookup used by
 * sockets and pacote, git pinning, proxies and the environment policy. Every connection made
 * here goes to 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pacote from 'pacote';
import { blockedClass } from '../../server/net/address.js';
import { createDispatcher, safeFetch } from '../../server/net/fetch.js';
import { GuardedAgent, npmFetchOptions } from '../../server/net/node-agent.js';
import {
  BlockedAddressError,
  FetchGuard,
  fetchPolicyFromEnv,
  gitPinArgs,
  type Resolver,
} from '../../server/net/guard.js';
import { openSource, planSource } from '../../server/indexing/source-spec.js';

/** Names -> addresses; records every name asked so a test can show DNS was (not) consulted. */
function fakeResolver(table: Record<string, string[]>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = (async (name: string) => {
    asked.push(name);
    const list = table[name];
    if (!list) throw Object.assign(new Error(`ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  }) as Resolver & { asked: string[] };
  resolve.asked = asked;
  return resolve;
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** A loopback HTTP server counting TCP connections and requests. */
async function countingServer(
  handler: (path: string) => Reply,
): Promise<{ server: Server; port: number; connections: () => number; paths: string[] }> {
  let connections = 0;
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    const r = handler(req.url ?? '/');
    res.writeHead(r.status, r.headers ?? {}).end(r.body ?? '');
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { server, port, connections: () => connections, paths };
}

describe('SSRF: address classes', () => {
  const cases: Array<[string, string | undefined]> = [
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['100.127.255.254', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['0.0.0.0', 'loopback'],
    ['::1', 'loopback'],
    ['::', 'loopback'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['[::1]', 'loopback'],
    ['8.8.8.8', undefined],
    ['172.32.0.1', undefined],
    ['100.128.0.1', undefined],
    ['192.169.0.1', undefined],
    ['2606:4700::1111', undefined],
    ['fec0::1', undefined],
    ['::ffff:8.8.8.8', undefined],
  ];
  for (const [ip, cls] of cases) {
    it(`${ip} -> ${cls ?? 'public'}`, () => assert.equal(blockedClass(ip), cls));
  }
});

describe('SSRF: the guard in deny mode', () => {
  let site: Awaited<ReturnType<typeof countingServer>>;
  before(async () => {
    site = await countingServer((path): Reply => {
      if (path === '/to-metadata') {
        return { status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data/' } };
      }
      if (path === '/to-internal') {
        return { status: 301, headers: { location: `http://internal.test:${site.port}/secret` } };
      }
      if (path === '/to-mapped') {
        return { status: 307, headers: { location: `http://[::ffff:127.0.0.1]:${site.port}/x` } };
      }
      if (path === '/to-ok') return { status: 301, headers: { location: '/ok' } };
      return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'fine' };
    });
  });
  after(() => new Promise<void>((resolve) => site.server.close(() => resolve())));

  const guardWith = (resolver: Resolver, allowHosts: string[] = []) =>
    new FetchGuard({ mode: 'deny', resolver, allowHosts });

  it('refuses a name resolving to a private or loopback address before any socket opens', async () => {
    const resolver = fakeResolver({
      'evil.test': ['10.0.0.7'],
      'loop.test': ['127.0.0.1'],
      'mixed.test': ['93.184.216.34', '192.168.0.10'],
      'v6.test': ['::ffff:127.0.0.1'],
    });
    const guard = guardWith(resolver);
    const before = site.connections();
    for (const host of ['evil.test', 'loop.test', 'mixed.test', 'v6.test']) {
      await assert.rejects(
        safeFetch(`http://${host}:${site.port}/`, { guard }),
        (err: unknown) => err instanceof BlockedAddressError && err.host === host,
      );
    }
    assert.deepEqual(resolver.asked, ['evil.test', 'loop.test', 'mixed.test', 'v6.test']);
    assert.equal(site.connections(), before, 'no connection reached the server');
  });

  it('refuses literal addresses and metadata names without asking DNS', async () => {
    const resolver = fakeResolver({});
    const guard = guardWith(resolver);
    for (const url of [
      `http://127.0.0.1:${site.port}/`,
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]/',
      'http://[fd00:ec2::254]/',
      'http://[::ffff:169.254.169.254]/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://10.0.0.1/',
    ]) {
      await assert.rejects(safeFetch(url, { guard }), BlockedAddressError, url);
    }
    assert.deepEqual(resolver.asked, []);
  });

  it('re-checks every redirect: to metadata, to a name resolving to loopback, to a mapped address', async () => {
    const resolver = fakeResolver({ 'docs.test': ['127.0.0.1'], 'internal.test': ['127.0.0.1'] });
    // docs.test stands for a public site: allowed by name, as an operator would the registry.
    const guard = guardWith(resolver, ['docs.test']);
    const ok = await safeFetch(`http://docs.test:${site.port}/to-ok`, { guard });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), 'fine');
    assert.deepEqual(ok.redirects, [`http://docs.test:${site.port}/to-ok`]);
    for (const path of ['/to-metadata', '/to-internal', '/to-mapped']) {
      await assert.rejects(
        safeFetch(`http://docs.test:${site.port}${path}`, { guard }),
        BlockedAddressError,
        path,
      );
    }
    assert.ok(!site.paths.includes('/secret') && !site.paths.includes('/x'), site.paths.join());
  });

  it('the pinned lookup refuses for sockets too (net.connect never reaches the server)', async () => {
    const guard = guardWith(fakeResolver({ 'sneaky.test': ['127.0.0.1'] }));
    const before = site.connections();
    const err = await new Promise<Error>((resolve) => {
      const socket = connect({ host: 'sneaky.test', port: site.port, lookup: guard.lookup });
      socket.on('error', resolve);
      socket.on('connect', () => resolve(new Error('connected')));
    });
    assert.ok(err instanceof BlockedAddressError, String(err));
    assert.equal(site.connections(), before);
  });

  it('npm through pacote: a registry name resolving to loopback is refused; the configured registry is allowed', async () => {
    const registry = await countingServer((path): Reply =>
      path === '/tiny-pkg'
        ? {
            status: 200,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              name: 'tiny-pkg',
              'dist-tags': { latest: '1.0.0' },
              versions: {
                '1.0.0': {
                  name: 'tiny-pkg',
                  version: '1.0.0',
                  dist: { tarball: 'http://registry.test/tiny-pkg/-/tiny-pkg-1.0.0.tgz' },
                },
              },
            }),
          }
        : { status: 404 },
    );
    try {
      const resolver = fakeResolver({
        'registry.test': ['127.0.0.1'],
        'mirror.test': ['127.0.0.1'],
      });
      const guard = guardWith(resolver, ['mirror.test']);
      assert.ok(npmFetchOptions(guard).agent instanceof GuardedAgent);
      assert.deepEqual(npmFetchOptions(new FetchGuard({ mode: 'allow' })), {});
      const cache = mkdtempSync(join(tmpdir(), 'twinmcp-ssrf-'));
      const opts = (host: string) => ({
        registry: `http://${host}:${registry.port}/`,
        ...npmFetchOptions(guard),
        cache,
        preferOnline: true,
        fetchRetries: 0,
      });
      await assert.rejects(
        pacote.manifest('tiny-pkg', opts('registry.test')),
        (err: unknown) =>
          err instanceof BlockedAddressError ||
          /Refused to fetch registry\.test/.test(String((err as Error).message)),
      );
      assert.equal(registry.connections(), 0);
      const manifest = await pacote.manifest('tiny-pkg', opts('mirror.test'));
      assert.equal(manifest.version, '1.0.0');
      rmSync(cache, { recursive: true, force: true });
    } finally {
      await new Promise<void>((resolve) => registry.server.close(() => resolve()));
    }
  });

  it('an npm: source is refused through openSource when its registry resolves to a private address', async () => {
    const registry = await countingServer((): Reply => ({ status: 404 }));
    const saved = process.env.npm_config_registry;
    process.env.npm_config_registry = `http://registry.test:${registry.port}/`;
    try {
      const guard = guardWith(fakeResolver({ 'registry.test': ['127.0.0.1'] }), []);
      const plan = planSource({ source: 'npm:tiny-pkg', trustedLocal: false });
      await assert.rejects(
        openSource(plan, { allowLocalGit: false, guard }),
        /Refused to fetch registry\.test|private|loopback/i,
      );
      assert.equal(registry.connections(), 0);
    } finally {
      if (saved === undefined) delete process.env.npm_config_registry;
      else process.env.npm_config_registry = saved;
      await new Promise<void>((resolve) => registry.server.close(() => resolve()));
    }
  });

  it('git: pinned to the checked address with curloptResolve; refused targets never reach git', async () => {
    const resolver = fakeResolver({
      'git.example.test': ['93.184.216.34'],
      'git6.example.test': ['2606:4700::1111'],
      'intranet.test': ['10.9.8.7'],
    });
    const guard = guardWith(resolver);
    assert.deepEqual(await gitPinArgs('https://git.example.test/o/r.git', guard), [
      '-c',
      'http.curloptResolve=git.example.test:443:93.184.216.34',
      '-c',
      'http.followRedirects=false',
    ]);
    assert.equal(
      (await gitPinArgs('https://git6.example.test:8443/o/r.git', guard))[1],
      'http.curloptResolve=git6.example.test:8443:[2606:4700::1111]',
    );
    await assert.rejects(gitPinArgs('https://intranet.test/o/r.git', guard), BlockedAddressError);
    // Through the source layer: the job fails with the reason before any clone starts.
    const plan = planSource({ source: 'https://intranet.test/o/r.git', trustedLocal: false });
    await assert.rejects(
      openSource(plan, { allowLocalGit: false, guard }),
      /Refused to fetch intranet\.test: it resolves to 10\.9\.8\.7, a private address/,
    );
    // Allow mode pins nothing and asks no DNS.
    const open = new FetchGuard({ mode: 'allow', resolver: fakeResolver({}) });
    assert.deepEqual(await gitPinArgs('https://intranet.test/o/r.git', open), []);
  });

  it('website sources refuse a private start URL with the reason', async () => {
    const guard = guardWith(fakeResolver({ 'wiki.corp.test': ['172.20.1.1'] }));
    const plan = planSource({ source: 'https://wiki.corp.test/docs/', trustedLocal: false });
    assert.equal(plan.kind, 'web');
    const source = await openSource(plan, { allowLocalGit: false, guard });
    await assert.rejects(
      (async () => {
        for await (const _ of source.events) void _;
      })(),
      /172\.20\.1\.1, a private address/,
    );
  });
});

describe('SSRF: allow mode, proxies and configuration', () => {
  it('allow mode fetches loopback', async () => {
    const site = await countingServer(() => ({ status: 200, body: 'local ok' }));
    try {
      const guard = new FetchGuard({ mode: 'allow' });
      const res = await safeFetch(`http://127.0.0.1:${site.port}/`, { guard });
      assert.equal(res.body.toString(), 'local ok');
    } finally {
      await new Promise<void>((resolve) => site.server.close(() => resolve()));
    }
  });

  it('HTTP_PROXY routes requests through the proxy; NO_PROXY hosts go direct', async () => {
    const direct = await countingServer(() => ({ status: 200, body: 'direct' }));
    const proxy = await countingServer((path) => ({ status: 200, body: `proxied ${path}` }));
    // A forward proxy: CONNECT tunnels (undici's default) end at the direct server.
    const tunnels: string[] = [];
    proxy.server.on('connect', (req, client) => {
      tunnels.push(req.url ?? '');
      const upstream = connect(direct.port, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
    });
    const guard = new FetchGuard({
      mode: 'allow',
      resolver: fakeResolver({ 'site.test': ['127.0.0.1'] }),
    });
    const dispatcher = createDispatcher(guard, {
      HTTP_PROXY: `http://127.0.0.1:${proxy.port}`,
      NO_PROXY: '127.0.0.1',
    });
    try {
      const viaProxy = await safeFetch('http://site.test/page', { guard, dispatcher });
      assert.equal(viaProxy.status, 200);
      assert.deepEqual(tunnels, ['site.test:80']);
      const before = proxy.connections();
      const noProxy = await safeFetch(`http://127.0.0.1:${direct.port}/`, { guard, dispatcher });
      assert.equal(noProxy.body.toString(), 'direct');
      assert.equal(proxy.connections(), before);
    } finally {
      await dispatcher.destroy();
      proxy.server.closeAllConnections();
      direct.server.closeAllConnections();
      await new Promise<void>((resolve) => proxy.server.close(() => resolve()));
      await new Promise<void>((resolve) => direct.server.close(() => resolve()));
    }
  });

  it('policy: deny when auth is on, allow otherwise, explicit setting wins, registry and proxy allowed', () => {
    assert.equal(fetchPolicyFromEnv({}).mode, 'allow');
    assert.equal(fetchPolicyFromEnv({ TWINMCP_AUTH: 'on' }).mode, 'deny');
    assert.equal(
      fetchPolicyFromEnv({ TWINMCP_AUTH: 'on', TWINMCP_FETCH_PRIVATE: 'allow' }).mode,
      'allow',
    );
    assert.equal(fetchPolicyFromEnv({ TWINMCP_FETCH_PRIVATE: 'deny' }).mode, 'deny');
    assert.throws(
      () => fetchPolicyFromEnv({ TWINMCP_FETCH_PRIVATE: 'maybe' }),
      /TWINMCP_FETCH_PRIVATE/,
    );
    const policy = fetchPolicyFromEnv({
      TWINMCP_AUTH: 'on',
      npm_config_registry: 'http://verdaccio.internal:4873/',
      HTTPS_PROXY: 'http://proxy.corp:3128',
      TWINMCP_FETCH_ALLOW_HOSTS: 'docs.corp, wiki.corp',
    });
    assert.deepEqual(policy.allowHosts.sort(), [
      'docs.corp',
      'proxy.corp',
      'verdaccio.internal',
      'wiki.corp',
    ]);
  });
});
