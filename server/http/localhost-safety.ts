/**
 * DNS-rebinding and cross-site defence for a server on the user's machine. A page on evil.com can
 * make the browser send requests to 127.0.0.1 (directly, or by rebinding evil.com's DNS to it);
 * checking Host defeats rebinding and checking Origin defeats plain cross-site requests.
 */
import net from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { forbid } from './errors.js';

export interface LocalhostSafetyOptions {
  /** The address the server binds to. */
  boundHost: string;
  /** Host names or `name:port` accepted when bound off loopback; empty = any host. */
  allowedHosts: readonly string[];
  /** Exact origins accepted besides the server's own. */
  allowedOrigins: readonly string[];
}

/** True for 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) {
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped?.[1] !== undefined && mapped[1].startsWith('127.');
  }
  return false;
}

async function localhostSafety(app: FastifyInstance, opts: LocalhostSafetyOptions): Promise<void> {
  const loopbackBind = isLoopbackHost(opts.boundHost);
  const allowedHosts = opts.allowedHosts.map((h) => h.toLowerCase());
  const allowedOrigins = new Set(
    opts.allowedOrigins.map((o) => o.toLowerCase().replace(/\/$/, '')),
  );
  if (!loopbackBind && allowedHosts.length === 0) {
    app.log.warn(
      `Bound to ${opts.boundHost} without TWINMCP_ALLOWED_HOSTS: any Host header is accepted, so ` +
        'browsers can reach this server through DNS rebinding. Set TWINMCP_ALLOWED_HOSTS.',
    );
  }

  // The port is known once listening; under inject() there is none and any port is accepted.
  const listeningPort = (): number | undefined => {
    const address = app.server.address();
    return typeof address === 'object' && address !== null ? address.port : undefined;
  };

  app.addHook('onRequest', async (request, reply) => {
    const host = parseHost(request.headers.host);
    if (!host) return forbid(reply, 'Missing or malformed Host header');
    const port = listeningPort();
    if (!hostAllowed(host, port)) {
      return forbid(
        reply,
        `Host "${request.headers.host}" is not allowed` +
          (loopbackBind ? '; this server only answers to localhost, 127.0.0.1 or [::1]' : ''),
      );
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !originAllowed(origin, request, host, port)) {
      return forbid(reply, `Origin "${origin}" is not allowed to call this server`);
    }
  });

  function hostAllowed(host: ParsedHost, port: number | undefined): boolean {
    if (loopbackBind)
      return isLoopbackHost(host.hostname) && (port === undefined || host.port === port);
    if (allowedHosts.length === 0) return true;
    // The literal bind address cannot be a rebinding target: rebinding needs a DNS name.
    if (host.hostname === bracket(opts.boundHost.toLowerCase())) return true;
    return allowedHosts.some((a) => a === host.hostname || a === `${host.hostname}:${host.port}`);
  }

  function originAllowed(
    origin: string,
    request: FastifyRequest,
    host: ParsedHost,
    port: number | undefined,
  ): boolean {
    const normalized = origin.toLowerCase().replace(/\/$/, '');
    if (allowedOrigins.has(normalized)) return true;
    let url: URL;
    try {
      url = new URL(normalized);
    } catch {
      return false; // includes the opaque origin "null" (sandboxed frames, file:// pages)
    }
    if (url.protocol !== 'http:') return false;
    const originPort = url.port === '' ? 80 : Number(url.port);
    if (loopbackBind) return isLoopbackHost(url.hostname) && originPort === (port ?? host.port);
    // Off loopback, a page we would serve ourselves has our own Host as its origin.
    return url.host === (request.headers.host ?? '').toLowerCase();
  }
}

interface ParsedHost {
  /** Lower case; IPv6 in brackets, as in URLs. */
  hostname: string;
  port: number;
}

function parseHost(header: string | undefined): ParsedHost | undefined {
  // Userinfo, paths or spaces have no place in Host; refusing them keeps URL parsing honest.
  if (!header || /[\s@/?#\\]/.test(header)) return undefined;
  try {
    const url = new URL(`http://${header}`);
    return { hostname: url.hostname, port: url.port === '' ? 80 : Number(url.port) };
  } catch {
    return undefined;
  }
}

function bracket(host: string): string {
  return net.isIPv6(host) ? `[${host}]` : host;
}

/** Host and Origin checks on every route (an onRequest hook on the root instance). */
export default fp(localhostSafety, { name: 'localhost-safety', fastify: '5.x' });
