/**
 * Web sign-in: the sign-in page, email magic links and sign-out. OIDC and GitHub live in
 * routes-signin-oauth.ts; the session and CSRF plumbing in routes-signin-web.ts.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { getAccount } from '../accounts/accounts.js';
import { safeNextPath } from '../accounts/session-cookie.js';
import {
  consumeSigninToken,
  createSigninToken,
  peekSigninToken,
  recentSigninTokenCount,
} from '../accounts/session-store.js';
import { accountForVerifiedEmail } from '../accounts/signin-account.js';
import { createSigninMailer, looksLikeEmail } from '../accounts/signin-email.js';
import {
  checkEmailPage,
  confirmEmailPage,
  errorPage,
  signinPage,
} from '../accounts/signin-pages.js';
import type { SigninConfig } from '../accounts/signin-config.js';
import { oauthSigninRoutes } from './routes-signin-oauth.js';
import { acceptFormBodies, field, OPEN, sendPage, WebSessions } from './routes-signin-web.js';

export interface SigninRoutesOptions {
  signin: SigninConfig;
  /** The plan of an account made by its first sign-in. */
  defaultPlan: string;
}

// Five links per address per 15 minutes: enough for typos and slow mail, too few to flood an inbox.
const MAX_LINKS_PER_WINDOW = 5;

/**
 * `/signin`, `/signin/email`, `/signin/email/confirm`, `/signout`, and the identity providers'
 * routes (routes-signin-oauth.ts) for those configured.
 */
export const signinRoutes: FastifyPluginAsync<SigninRoutesOptions> = async (app, opts) => {
  const cfg = opts.signin;
  const db = () => app.engine.db;
  const sessions = new WebSessions(cfg, db);
  if (cfg.sessionSecretGenerated && !/^https?:\/\/(127\.|localhost|\[::1\])/.test(cfg.publicUrl)) {
    app.log.warn(
      'TWINMCP_SESSION_SECRET is not set: sign-in cookies last until this process restarts and ' +
        'are not accepted by other server processes. Set it to 32+ random characters.',
    );
  }
  await app.register(oauthSigninRoutes, { sessions, defaultPlan: opts.defaultPlan });
  const mailer = cfg.smtp ? createSigninMailer(cfg.smtp.url, cfg.smtp.from) : undefined;
  if (mailer) app.addHook('onClose', async () => mailer.close());
  acceptFormBodies(app);

  const renderSignin = async (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    next: string,
    message: { error?: string; info?: string } = {},
  ): Promise<FastifyReply> => {
    const session = await sessions.session(request);
    const account = session ? await getAccount(db(), session.accountId) : null;
    return sendPage(
      reply,
      status,
      signinPage({
        csrf: await sessions.csrf(request, reply),
        next,
        ...(account ? { signedInAs: account.email ?? account.id } : {}),
        email: mailer !== undefined,
        ...(cfg.oidc ? { oidcLabel: cfg.oidc.label } : {}),
        github: cfg.github !== undefined,
        ...message,
      }),
    );
  };

  app.get<{ Querystring: { next?: string; error?: string } }>(
    '/signin',
    OPEN,
    async (request, reply) => {
      const next = safeNextPath(request.query.next);
      const session = await sessions.session(request);
      // Signed in and sent here on the way somewhere (the device page): go on.
      if (session && next !== '/signin') return reply.redirect(next, 303);
      return renderSignin(request, reply, 200, next);
    },
  );

  app.post('/signin/email', OPEN, async (request, reply) => {
    const next = safeNextPath(field(request.body, 'next'));
    if (!mailer) {
      return sendPage(reply, 404, errorPage('Not available', 'Email sign-in is not configured.'));
    }
    if (!(await sessions.csrfOk(request))) return csrfFailed(reply);
    const email = field(request.body, 'email')?.trim();
    if (!looksLikeEmail(email)) {
      return renderSignin(request, reply, 400, next, { error: 'Enter a valid email address.' });
    }
    // The reply is the same whatever happens next, so the page tells nobody which addresses
    // have accounts or were throttled.
    if ((await recentSigninTokenCount(db(), email)) < MAX_LINKS_PER_WINDOW) {
      const token = await createSigninToken(db(), email, next);
      const link = `${cfg.publicUrl}/signin/email/confirm?token=${encodeURIComponent(token)}`;
      try {
        await mailer.send(email, link);
      } catch (err) {
        request.log.error({ err }, 'sign-in mail could not be sent');
        return sendPage(
          reply,
          502,
          errorPage('Mail not sent', 'The sign-in mail could not be sent. Try again later.'),
        );
      }
    } else {
      request.log.warn('sign-in link limit reached for one address; no mail sent');
    }
    return sendPage(reply, 200, checkEmailPage(email));
  });

  app.get<{ Querystring: { token?: string } }>(
    '/signin/email/confirm',
    OPEN,
    async (request, reply) => {
      const token = request.query.token ?? '';
      const pending = token ? await peekSigninToken(db(), token) : null;
      if (!pending) return linkInvalid(reply);
      return sendPage(
        reply,
        200,
        confirmEmailPage({
          email: pending.email,
          token,
          csrf: await sessions.csrf(request, reply),
        }),
      );
    },
  );

  app.post('/signin/email/confirm', OPEN, async (request, reply) => {
    if (!(await sessions.csrfOk(request))) return csrfFailed(reply);
    const token = field(request.body, 'token') ?? '';
    const used = token ? await consumeSigninToken(db(), token) : null;
    if (!used) return linkInvalid(reply);
    const { account } = await accountForVerifiedEmail(db(), used.email, {
      plan: opts.defaultPlan,
    });
    await sessions.signIn(request, reply, account.id, 'email');
    return reply.redirect(safeNextPath(used.nextPath), 303);
  });

  app.post('/signout', OPEN, async (request, reply) => {
    if (!(await sessions.csrfOk(request))) return csrfFailed(reply);
    await sessions.signOut(request, reply);
    return reply.redirect('/signin', 303);
  });
};

function csrfFailed(reply: FastifyReply): FastifyReply {
  return sendPage(
    reply,
    403,
    errorPage('Form expired', 'This form has expired or came from another site. Try again.'),
  );
}

function linkInvalid(reply: FastifyReply): FastifyReply {
  return sendPage(
    reply,
    400,
    errorPage(
      'Link expired',
      'This sign-in link has expired or was already used. Ask for a new one.',
    ),
  );
}
