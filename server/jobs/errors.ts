/**
 * Which job failures are worth another attempt. Transient: the network (refused, reset, timed
 * out), a server answering 5xx or 429, the database connection, a provider asking to retry, a
 * worker whose lease expired. Everything else (a bad source, a 404, validation) is permanent: the
 * job fails at once.
 */

/** An error that retrying cannot fix (bad path, no pages): the job fails at once. */
export class PermanentJobError extends Error {}

/** An error worth retrying (a remote answered 5xx or 429, a worker was lost). */
export class TransientJobError extends Error {
  constructor(
    message: string,
    /** The HTTP status that made it transient, when one did. */
    readonly status?: number,
  ) {
    super(message);
  }
}

const TRANSIENT_CODES = new Set([
  // Sockets and DNS lookups that may succeed later.
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  // PostgreSQL: admin shutdown, cannot connect now, connection failure, unable to connect,
  // serialization failure, deadlock.
  '57P01',
  '57P03',
  '08006',
  '08001',
  '40001',
  '40P01',
]);

/** Whether a status code says "try again later". */
export function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/** True when `err` (or an error in its `cause` chain) is worth retrying; see the module comment. */
export function isTransient(err: unknown): boolean {
  let e: unknown = err;
  // Five levels: fetch wraps the socket error once, our sources wrap that once or twice more.
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    if (e instanceof PermanentJobError) return false;
    if (e instanceof TransientJobError) return true;
    const x = e as { code?: unknown; status?: unknown; statusCode?: unknown; retryable?: unknown };
    // The thrower's own verdict (a provider that already retried a 500 says false) wins.
    if (typeof x.retryable === 'boolean') return x.retryable;
    if (typeof x.code === 'string') {
      if (TRANSIENT_CODES.has(x.code)) return true;
      // pacote / npm-registry-fetch: E503, E429.
      const http = /^E(\d{3})$/.exec(x.code);
      if (http && isTransientStatus(Number(http[1]))) return true;
    }
    const status = typeof x.status === 'number' ? x.status : x.statusCode;
    if (typeof status === 'number' && isTransientStatus(status)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
