/**
 * The request log: a request id that follows a request through a load balancer (an incoming
 * `x-request-id` is kept, and every response echoes it), and redaction of keys, tokens, cookies
 * and secrets wherever they would appear.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { DestinationStream, LoggerOptions } from 'pino';
import type { LogLevel } from '../config.js';

/** The header a request id arrives in and is echoed back in. */
export const REQUEST_ID_HEADER = 'x-request-id';

// Load balancers send UUIDs (36 chars) or their own ids (haproxy's unique-id ~40); 128 leaves
// room, and the character set keeps ids from forging extra log fields or lines.
const ACCEPTED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's `genReqId`: the caller's id when it looks like one, else a fresh UUID. */
export function genReqId(req: IncomingMessage): string {
  const header = req.headers[REQUEST_ID_HEADER];
  const incoming = Array.isArray(header) ? header[0] : header;
  return incoming && ACCEPTED_ID.test(incoming) ? incoming : randomUUID();
}

const CENSOR = '[redacted]';

// pino `redact` paths (fast-redact syntax: one `*` is one level). The request serializer below
// logs headers, so these are the ones that carry credentials; the rest catch objects a handler
// logs with `{ err }` or `{ body }` that hold a secret-named field.
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  ...['password', 'token', 'apiKey', 'api_key', 'secret', 'clientSecret', 'accessToken'].flatMap(
    (key) => [key, `*.${key}`, `*.*.${key}`],
  ),
];

// Query parameters that carry credentials (device codes, sign-in links, OAuth callbacks).
const SECRET_PARAMS = /^(token|key|api_key|apikey|code|secret|password|access_token|state)$/i;

/** The URL with the values of credential-carrying query parameters replaced. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  let changed = false;
  for (const name of [...new Set(params.keys())]) {
    if (SECRET_PARAMS.test(name)) {
      params.set(name, CENSOR);
      changed = true;
    }
  }
  return changed ? `${url.slice(0, q)}?${params.toString()}` : url;
}

interface SerializedRequest {
  method: string;
  url: string;
  headers: Record<string, unknown>;
  remoteAddress?: string;
}

/** pino options for the HTTP app's logger. `stream` is for tests that read the log. */
export function loggerOptions(
  level: LogLevel,
  stream?: DestinationStream,
): LoggerOptions & { stream?: DestinationStream } {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    serializers: {
      req(req: {
        method: string;
        url: string;
        headers: Record<string, unknown>;
        ip?: string;
      }): SerializedRequest {
        return {
          method: req.method,
          url: redactUrl(req.url),
          headers: { ...req.headers },
          ...(req.ip ? { remoteAddress: req.ip } : {}),
        };
      },
    },
    ...(stream ? { stream } : {}),
  };
}
