/**
 * Every error leaves the server as `{error, message}` with a stable code (shared/api.ts), so the
 * CLI, the extension and agents branch on the code rather than on prose or Fastify internals.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { ErrorCode } from '../../shared/api.js';
import { EngineError } from '../engine-types.js';

/**
 * ErrorCode plus `payload_too_large`, which shared/api.ts does not list yet (413 has no code there).
 */
export type HttpErrorCode = ErrorCode | 'payload_too_large';

export interface HttpErrorBody {
  error: HttpErrorCode;
  message: string;
  /** Closest library ids, for not-found errors. */
  suggestions?: string[];
}

/** Sends an error body with its status. */
export function sendError(
  reply: FastifyReply,
  status: number,
  error: HttpErrorCode,
  message: string,
): FastifyReply {
  const body: HttpErrorBody = { error, message };
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/** Installs the error and not-found handlers on the root instance (children inherit them). */
export function installErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, 'not_found', `No route ${request.method} ${request.url.split('?')[0]}`),
  );
  app.setErrorHandler((err: unknown, request, reply) => {
    const mapped = mapError(err);
    if (mapped.status >= 500) request.log.error({ err }, 'request failed');
    const body: HttpErrorBody = { error: mapped.error, message: mapped.message };
    if (err instanceof EngineError && err.suggestions.length > 0)
      body.suggestions = err.suggestions;
    return reply.code(mapped.status).type('application/json; charset=utf-8').send(body);
  });
}

interface Mapped {
  status: number;
  error: HttpErrorCode;
  message: string;
}

// Fastify's own errors carry a code and a 4xx status; these are the ones a client can cause.
const FASTIFY_CODES: Record<string, { status: number; error: HttpErrorCode }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, error: 'payload_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, error: 'unsupported_media_type' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, error: 'validation_error' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, error: 'validation_error' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, error: 'validation_error' },
};

function mapError(err: unknown): Mapped {
  if (err instanceof EngineError)
    return { status: err.status, error: err.code, message: err.message };
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = (err as { validationContext?: string }).validationContext ?? 'request';
    const fields = err.validation.map((v) => {
      const field = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
      return `${field || where}: ${v.message}`;
    });
    return {
      status: 400,
      error: 'validation_error',
      message: `Invalid ${where}: ${fields.join('; ')}`,
    };
  }
  const code = errorProp(err, 'code');
  const known = code ? FASTIFY_CODES[code] : undefined;
  if (known) return { ...known, message: errorProp(err, 'message') ?? 'Bad request' };
  // secure-json-parse throws a SyntaxError that Fastify marks 400.
  const statusCode = Number(errorProp(err, 'statusCode'));
  if (err instanceof SyntaxError || statusCode === 400) {
    return {
      status: 400,
      error: 'validation_error',
      message: `Malformed request: ${errorProp(err, 'message') ?? ''}`.trim(),
    };
  }
  if (statusCode >= 400 && statusCode < 500) {
    return {
      status: statusCode,
      error: statusCode === 404 ? 'not_found' : 'validation_error',
      message: errorProp(err, 'message') ?? 'Bad request',
    };
  }
  // No details: stack traces and internal messages stay in the server log.
  return { status: 500, error: 'internal_error', message: 'Internal server error' };
}

function errorProp(err: unknown, key: string): string | undefined {
  if (typeof err !== 'object' || err === null || !(key in err)) return undefined;
  const value = (err as Record<string, unknown>)[key];
  return value === undefined || value === null ? undefined : String(value);
}

/** Hook helper: ends the request with 403 `forbidden`. */
export function forbid(reply: FastifyReply, message: string): FastifyReply {
  return sendError(reply, 403, 'forbidden', message);
}
