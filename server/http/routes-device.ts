/**
 * OAuth 2.0 Device Authorization Grant (RFC 8628) for the VS Code extension: the device endpoints
 * under /api/v1/auth/device (form-encoded as the RFC requires, JSON accepted too) and the
 * verification page /device where a signed-in person approves the code. The token endpoint hands
 * out a new API key as a Bearer access token.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { getAccount } from '../accounts/accounts.js';
import {
  createDeviceCode,
  decideDeviceCode,
  findPendingDeviceCode,
  formatUserCode,
  normalizeUserCode,
  pollDeviceCode,
} from '../accounts/device-flow.js';
import { createApiKey } from '../accounts/keys.js';
import {
  deviceConfirmPage,
  deviceDonePage,
  deviceEnterPage,
  errorPage,
} from '../accounts/signin-pages.js';
import type { SigninConfig } from '../accounts/signin-config.js';
import { acceptFormBodies, field, OPEN, sendPage, WebSessions } from './routes-signin-web.js';

export interface DeviceRoutesOptions {
  signin: SigninConfig;
}

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** RFC 6749 §5.2 error body; `message` repeats the description for our own clients. */
function oauthError(reply: FastifyReply, error: string, description: string): FastifyReply {
  return reply
    .code(400)
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send({ error, error_description: description, message: description });
}

/** `/api/v1/auth/device/code`, `/api/v1/auth/device/token`, `/device`, `/device/decide`. */
export const deviceRoutes: FastifyPluginAsync<DeviceRoutesOptions> = async (app, opts) => {
  const cfg = opts.signin;
  const db = () => app.engine.db;
  const sessions = new WebSessions(cfg, db);
  acceptFormBodies(app);

  app.post('/api/v1/auth/device/code', OPEN, async (request, reply) => {
    const clientId = field(request.body, 'client_id') ?? '';
    const scope = field(request.body, 'scope') ?? '';
    if (clientId.length > 200 || scope.length > 500) {
      return oauthError(reply, 'invalid_request', 'client_id or scope is too long');
    }
    const code = await createDeviceCode(db(), {
      clientId,
      scope,
      ttlSeconds: cfg.device.ttlSeconds,
      intervalSeconds: cfg.device.intervalSeconds,
    });
    const userCode = formatUserCode(code.userCode);
    return reply.header('cache-control', 'no-store').send({
      device_code: code.deviceCode,
      user_code: userCode,
      verification_uri: `${cfg.publicUrl}/device`,
      verification_uri_complete: `${cfg.publicUrl}/device?user_code=${userCode}`,
      expires_in: code.expiresIn,
      interval: code.interval,
    });
  });

  app.post('/api/v1/auth/device/token', OPEN, async (request, reply) => {
    const grantType = field(request.body, 'grant_type');
    if (grantType !== DEVICE_GRANT) {
      return oauthError(
        reply,
        grantType ? 'unsupported_grant_type' : 'invalid_request',
        `grant_type must be ${DEVICE_GRANT}`,
      );
    }
    const deviceCode = field(request.body, 'device_code');
    if (!deviceCode) return oauthError(reply, 'invalid_request', 'device_code is required');
    const result = await pollDeviceCode(db(), deviceCode, async (tx, accountId, clientId) =>
      createApiKey(tx, accountId, {
        name: clientId ? `Device sign-in (${clientId})` : 'Device sign-in',
      }),
    );
    switch (result.status) {
      case 'issued':
        request.log.info({ keyId: result.keyId }, 'device flow issued an API key');
        return reply
          .header('cache-control', 'no-store')
          .send({ access_token: result.accessToken, token_type: 'Bearer' });
      case 'authorization_pending':
        return oauthError(reply, result.status, 'The user has not approved the code yet');
      case 'slow_down':
        return oauthError(
          reply,
          result.status,
          `Polling too fast: wait at least ${result.interval} seconds between requests`,
        );
      case 'access_denied':
        return oauthError(reply, result.status, 'The user denied the request');
      case 'expired_token':
        return oauthError(reply, result.status, 'The device code has expired; start again');
      case 'invalid_grant':
        return oauthError(reply, result.status, 'Unknown or already used device code');
    }
  });

  /** The signed-in account's label, or a redirect to sign-in that comes back here. */
  const requireSignin = async (
    request: FastifyRequest,
    reply: FastifyReply,
    userCode: string | undefined,
  ): Promise<{ accountId: string; label: string } | undefined> => {
    const session = await sessions.session(request);
    const account = session ? await getAccount(db(), session.accountId) : null;
    if (account) return { accountId: account.id, label: account.email ?? account.id };
    const back = userCode ? `/device?user_code=${encodeURIComponent(userCode)}` : '/device';
    await reply.redirect(`/signin?next=${encodeURIComponent(back)}`, 303);
    return undefined;
  };

  const showCode = async (
    request: FastifyRequest,
    reply: FastifyReply,
    typed: string | undefined,
    label: string,
  ): Promise<FastifyReply> => {
    const csrf = await sessions.csrf(request, reply);
    const code = normalizeUserCode(typed);
    const pending = code ? await findPendingDeviceCode(db(), code) : null;
    if (!code || !pending) {
      const error = typed ? 'That code is not valid or has expired. Check your editor.' : undefined;
      return sendPage(
        reply,
        typed ? 400 : 200,
        deviceEnterPage({
          csrf,
          ...(typed ? { userCode: typed } : {}),
          ...(error ? { error } : {}),
        }),
      );
    }
    return sendPage(
      reply,
      200,
      deviceConfirmPage({
        csrf,
        userCode: formatUserCode(code),
        account: label,
        client: pending.clientId,
      }),
    );
  };

  app.get<{ Querystring: { user_code?: string } }>('/device', OPEN, async (request, reply) => {
    const typed = request.query.user_code;
    const who = await requireSignin(request, reply, typed);
    if (!who) return reply;
    return showCode(request, reply, typed, who.label);
  });

  app.post('/device', OPEN, async (request, reply) => {
    const typed = field(request.body, 'user_code');
    const who = await requireSignin(request, reply, typed);
    if (!who) return reply;
    if (!(await sessions.csrfOk(request))) return formExpired(reply);
    return showCode(request, reply, typed, who.label);
  });

  app.post('/device/decide', OPEN, async (request, reply) => {
    const who = await requireSignin(request, reply, undefined);
    if (!who) return reply;
    if (!(await sessions.csrfOk(request))) return formExpired(reply);
    const code = normalizeUserCode(field(request.body, 'user_code'));
    const decision = field(request.body, 'decision');
    if (!code || (decision !== 'approve' && decision !== 'deny')) {
      return sendPage(reply, 400, errorPage('Bad request', 'Missing code or decision.', '/device'));
    }
    const done = await decideDeviceCode(
      db(),
      code,
      decision === 'approve' ? { approve: true, accountId: who.accountId } : { approve: false },
    );
    if (!done) {
      return sendPage(
        reply,
        400,
        errorPage('Code expired', 'That code has expired or was already used.', '/device'),
      );
    }
    return sendPage(reply, 200, deviceDonePage(decision === 'approve'));
  });
};

function formExpired(reply: FastifyReply): FastifyReply {
  return sendPage(
    reply,
    403,
    errorPage('Form expired', 'This form has expired or came from another site.', '/device'),
  );
}
