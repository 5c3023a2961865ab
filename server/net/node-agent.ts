/**
 * The SSRF rule for clients built on Node's `http` module (pacote via make-fetch-happen): an
 * agent whose sockets are opened only after the guard checked the host (literal or resolved) and
 * that connects to exactly the checked address. Serves http and https requests alike.
 */
import { Agent, type AgentOptions, type ClientRequestArgs } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FetchGuard, GuardedLookup, ResolvedAddress } from './guard.js';

function pinnedLookup(addresses: ResolvedAddress[]): GuardedLookup {
  return (_host, options, callback) => {
    const cb = (typeof options === 'function' ? options : callback)!;
    const all = typeof options === 'object' && options.all === true;
    if (all) cb(null, addresses);
    else cb(null, addresses[0]!.address, addresses[0]!.family);
  };
}

type ConnectArgs = ClientRequestArgs & { servername?: string; protocol?: string | null };

/** An http.Agent for both protocols whose connections pass the guard first. */
export class GuardedAgent extends Agent {
  constructor(
    private readonly guard: FetchGuard,
    opts: AgentOptions = { keepAlive: true },
  ) {
    super(opts);
    // Node compares a request's protocol with its agent's; without one, http and https both fit.
    (this as unknown as { protocol?: string }).protocol = undefined;
  }

  override createConnection(
    options: ConnectArgs,
    callback?: (err: Error | null, socket: Duplex) => void,
  ): Duplex | null | undefined {
    const host = String(options.hostname ?? options.host ?? 'localhost').replace(/^\[|\]$/g, '');
    const done = callback ?? (() => {});
    this.guard.resolveChecked(host).then(
      (addresses) => {
        const lookup = pinnedLookup(addresses);
        let socket: Socket;
        if (options.protocol === 'https:') {
          socket = tlsConnect({
            ...(options as object),
            host,
            port: Number(options.port) || 443,
            servername: options.servername ?? (isIP(host) ? undefined : host),
            lookup,
          } as ConnectionOptions);
        } else {
          socket = netConnect({ host, port: Number(options.port) || 80, lookup });
        }
        done(null, socket);
      },
      (err: Error) => done(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

/**
 * Options to spread into pacote / npm-registry-fetch calls: in deny mode `{ agent }` routing
 * every registry and tarball request (redirects included) through the guard; in allow mode
 * nothing, so npm's own proxy settings keep working. The guarded agent connects directly.
 */
export function npmFetchOptions(guard: FetchGuard): { agent?: Agent } {
  return guard.mode === 'deny' ? { agent: new GuardedAgent(guard) } : {};
}
