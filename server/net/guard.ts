/**
 * The SSRF rule for every outgoing fetch (websites, git, npm): in `deny` mode a host is resolved
 * once, every address is checked, and the connection goes to the checked address (a pinned
 * lookup, never a second DNS answer). `allow` mode (self-host, tests) checks nothing.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { blockedClass, isMetadataHostName, type BlockedClass } from './address.js';

/** `deny`: refuse private, loopback, link-local and metadata targets. `allow`: fetch anything. */
export type FetchPrivateMode = 'deny' | 'allow';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Host name to addresses; injectable so tests never touch real DNS. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface FetchGuardOptions {
  mode: FetchPrivateMode;
  resolver?: Resolver;
  /**
   * Host names always allowed, whatever they resolve to: the configured npm registry and the
   * configured proxies (operator choices, often on a private network).
   */
  allowHosts?: string[];
}

/** A target refused by the SSRF rule; `code` is stable for callers and logs. */
export class BlockedAddressError extends Error {
  readonly code = 'ERR_TWINMCP_BLOCKED_ADDRESS';
  constructor(
    readonly host: string,
    readonly address: string,
    readonly addressClass: BlockedClass,
  ) {
    super(
      `Refused to fetch ${host}: ${address === host ? 'it is' : `it resolves to ${address},`} a ` +
        `${addressClass} address (set TWINMCP_FETCH_PRIVATE=allow to permit private targets)`,
    );
    this.name = 'BlockedAddressError';
  }
}

/** A URL that passed the rule, with the addresses its connection is pinned to. */
export interface CheckedTarget {
  url: URL;
  hostname: string;
  port: number;
  /** Empty when nothing was resolved (allow mode, allowed host). */
  addresses: ResolvedAddress[];
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** Same shape as `dns.lookup`, for `net.connect({ lookup })`, undici `connect.lookup` and pacote `dns.lookup`. */
export type GuardedLookup = (
  hostname: string,
  options: LookupOptions | number | LookupCallback,
  callback?: LookupCallback,
) => void;

// A pin only saves the second lookup between the check and the connect; 30 s is far longer than
// that gap, and short enough that a long crawl follows a host's DNS changes (each re-checked).
const PIN_MS = 30_000;

const defaultResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({
    address: a.address,
    family: a.family === 6 ? 6 : 4,
  }));

function bare(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

/** The SSRF guard: checks URLs, pins their addresses and provides the lookup that uses the pins. */
export class FetchGuard {
  readonly mode: FetchPrivateMode;
  private readonly resolver: Resolver;
  private readonly allowHosts: Set<string>;
  private readonly pins = new Map<string, { addresses: ResolvedAddress[]; until: number }>();

  constructor(opts: FetchGuardOptions) {
    this.mode = opts.mode;
    this.resolver = opts.resolver ?? defaultResolver;
    this.allowHosts = new Set((opts.allowHosts ?? []).map((h) => bare(h)));
  }

  /** True when the rule does not apply to this host (allow mode, or an allowed host). */
  isExempt(hostname: string): boolean {
    return this.mode === 'allow' || this.allowHosts.has(bare(hostname));
  }

  /**
   * Checks an http(s) URL: scheme, literal address, metadata names, and every address its host
   * resolves to. Throws BlockedAddressError (or Error for other schemes). Resolved addresses are
   * pinned, so the connection that follows uses exactly them.
   */
  async check(input: string | URL): Promise<CheckedTarget> {
    const url = typeof input === 'string' ? new URL(input) : input;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`Only http:// and https:// URLs can be fetched (got ${url.protocol})`);
    }
    const hostname = bare(url.hostname);
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    if (this.isExempt(hostname)) return { url, hostname, port, addresses: [] };
    const addresses = await this.resolveChecked(hostname);
    return { url, hostname, port, addresses };
  }

  /** Resolves (or reads the pin of) a host and applies the rule to every address. */
  async resolveChecked(hostname: string): Promise<ResolvedAddress[]> {
    const host = bare(hostname);
    const literal = isIP(host);
    if (literal !== 0) {
      const addresses: ResolvedAddress[] = [{ address: host, family: literal === 6 ? 6 : 4 }];
      if (!this.isExempt(host)) this.assertPublic(host, addresses);
      return addresses;
    }
    const pinned = this.pins.get(host);
    if (pinned && pinned.until > Date.now()) return pinned.addresses;
    if (!this.isExempt(host) && isMetadataHostName(host)) {
      throw new BlockedAddressError(host, host, 'metadata');
    }
    const addresses = await this.resolver(host);
    if (addresses.length === 0) throw new Error(`${host} did not resolve to any address`);
    if (!this.isExempt(host)) this.assertPublic(host, addresses);
    this.pins.set(host, { addresses, until: Date.now() + PIN_MS });
    return addresses;
  }

  private assertPublic(host: string, addresses: ResolvedAddress[]): void {
    // Every address, not just the first: a name answering with one public and one private
    // address could otherwise be steered to the private one by connection fallback.
    for (const a of addresses) {
      const cls = blockedClass(a.address);
      if (cls) throw new BlockedAddressError(host, a.address, cls);
    }
  }

  /**
   * A `dns.lookup` replacement for sockets: answers from the pin (or resolves and checks), so
   * the socket connects to a checked address. Literal IPs never reach a lookup, so callers must
   * also {@link check} each URL (safeFetch does, on every redirect).
   */
  readonly lookup: GuardedLookup = (hostname, options, callback) => {
    const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
    const opts: LookupOptions =
      typeof options === 'number'
        ? { family: options }
        : typeof options === 'object'
          ? options
          : {};
    this.resolveChecked(hostname).then(
      (all) => {
        const wanted = opts.family === 4 || opts.family === 6 ? opts.family : 0;
        const list = wanted ? all.filter((a) => a.family === wanted) : all;
        if (list.length === 0) {
          const err: NodeJS.ErrnoException = new Error(`${hostname}: no IPv${wanted} address`);
          err.code = 'ENOTFOUND';
          cb(err, '');
          return;
        }
        if (opts.all) cb(null, list);
        else cb(null, list[0]!.address, list[0]!.family);
      },
      (err: NodeJS.ErrnoException) => cb(err, ''),
    );
  };
}

/** The fetch policy read from the environment (see {@link fetchGuardFromEnv}). */
export interface FetchPolicy {
  mode: FetchPrivateMode;
  allowHosts: string[];
}

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/**
 * `TWINMCP_FETCH_PRIVATE=deny|allow`; default `deny` when `TWINMCP_AUTH=on` (hosted), else
 * `allow` (self-host on localhost). Always allowed: `TWINMCP_FETCH_ALLOW_HOSTS` (comma list), the
 * npm registry configured in `TWINMCP_NPM_REGISTRY` or `npm_config_registry`, and the proxies in
 * `HTTPS_PROXY` / `HTTP_PROXY`. Throws on an unknown mode value.
 */
export function fetchPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): FetchPolicy {
  const raw = env.TWINMCP_FETCH_PRIVATE?.trim().toLowerCase();
  if (raw && raw !== 'deny' && raw !== 'allow') {
    throw new Error(`TWINMCP_FETCH_PRIVATE must be "deny" or "allow" (got "${raw}")`);
  }
  const hosted = env.TWINMCP_AUTH?.trim().toLowerCase() === 'on';
  const mode: FetchPrivateMode =
    raw === 'deny' || raw === 'allow' ? raw : hosted ? 'deny' : 'allow';
  const listed = (env.TWINMCP_FETCH_ALLOW_HOSTS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const configured = [
    env.TWINMCP_NPM_REGISTRY,
    env.npm_config_registry ?? env.NPM_CONFIG_REGISTRY,
    env.HTTPS_PROXY ?? env.https_proxy,
    env.HTTP_PROXY ?? env.http_proxy,
  ]
    .map(hostOf)
    .filter((h): h is string => h !== undefined);
  return { mode, allowHosts: [...new Set([...listed, ...configured])] };
}

/** A guard for this process's environment, optionally with an injected resolver. */
export function fetchGuardFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  resolver?: Resolver,
): FetchGuard {
  return new FetchGuard({ ...fetchPolicyFromEnv(env), ...(resolver ? { resolver } : {}) });
}

/**
 * Extra git arguments pinning an https remote to its checked address:
 * `-c http.curloptResolve=HOST:PORT:ADDR` (libcurl uses it instead of DNS) and
 * `-c http.followRedirects=false` (a redirect would reach an unchecked host). Empty when the rule
 * does not apply (allow mode, allowed host, non-http URLs such as file://). Throws
 * BlockedAddressError before git runs.
 */
export async function gitPinArgs(url: string, guard: FetchGuard): Promise<string[]> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return [];
  const target = await guard.check(parsed);
  if (target.addresses.length === 0) return [];
  const addrs = target.addresses
    .map((a) => (a.family === 6 ? `[${a.address}]` : a.address))
    .join(',');
  return [
    '-c',
    `http.curloptResolve=${target.hostname}:${target.port}:${addrs}`,
    '-c',
    'http.followRedirects=false',
  ];
}
