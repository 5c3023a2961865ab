/**
 * The chat plugin (register with prefix `/api/v1`): `GET /chat` as a WebSocket, `POST /chat`
 * answering as server-sent events, and the conversation routes. The root's localhost safety
 * (Host and Origin checks) runs on the WebSocket upgrade request like on any other.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AskBody, MAX_CHAT_FRAME_BYTES, type ServerEvent } from '../../shared/chat.js';
import type { Clock } from '../accounts/buckets.js';
import { chatQuotaFor } from '../accounts/chat-quota.js';
import type { AccountsConfig } from '../accounts/config.js';
import { sendError } from '../http/errors.js';
import type { ChatConfig } from './config.js';
import { runChat, type ChatDeps } from './core.js';
import { createProvider } from './providers/create.js';
import type { ChatProvider } from './providers/types.js';
import { conversationRoutes } from './routes-conversations.js';
import { ownerOf, refuseAnonymous, requireJson, viewerOf } from './request.js';
import { serveChatSocket, WS_MAX_PAYLOAD } from './socket.js';

export interface ChatRoutesOptions {
  config: ChatConfig;
  /** Plans and auth mode: with auth on, an account's chat tokens count against its plan. */
  accounts?: AccountsConfig | undefined;
  /** Time source of the monthly token window (tests); default Date.now. */
  clock?: Clock | undefined;
}

function sseFrame(event: ServerEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

export default async function chatRoutes(
  app: FastifyInstance,
  opts: ChatRoutesOptions,
): Promise<void> {
  const provider: ChatProvider | undefined = createProvider(opts.config);
  const depsFor = (request: FastifyRequest): ChatDeps => ({
    engine: app.engine,
    provider,
    config: opts.config,
    db: app.engine.db,
    owner: ownerOf(request),
    viewer: viewerOf(request),
    quota: chatQuotaFor(app.engine.db, opts.accounts, request.account, opts.clock ?? Date.now),
    log: (msg, err) => request.log.error({ err }, msg),
  });

  app.addHook('onRequest', refuseAnonymous);
  await app.register(websocket, { options: { maxPayload: WS_MAX_PAYLOAD } });
  // @fastify/websocket routes every upgrade request through Fastify, and Node no longer manages a
  // socket once 'upgrade' fired. Only /chat upgrades: other paths get what Node does without an
  // upgrade listener (the socket closed), and a refused /chat upgrade (403 from the Host/Origin
  // checks, 401) is closed once its answer is out, instead of lingering until the client leaves.
  const chatPath = `${app.prefix}/chat`;
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    if ((req.url ?? '').split('?')[0] !== chatPath) socket.destroy();
  });
  app.addHook('onResponse', async (request) => {
    if (request.headers.upgrade?.toLowerCase() === 'websocket') request.raw.socket.end();
  });

  app.route({
    method: 'GET',
    url: '/chat',
    handler: (_request, reply) =>
      sendError(
        reply,
        426,
        'validation_error',
        'GET /api/v1/chat is a WebSocket endpoint: connect with Upgrade: websocket, ' +
          'or POST a question to /api/v1/chat for server-sent events',
      ),
    wsHandler: (socket, request) => {
      serveChatSocket(socket, depsFor(request), (msg, err) => request.log.error({ err }, msg));
    },
  });

  app
    .withTypeProvider<ZodTypeProvider>()
    .post(
      '/chat',
      { onRequest: requireJson, bodyLimit: MAX_CHAT_FRAME_BYTES, schema: { body: AskBody } },
      async (request, reply) => {
        const ask = { ...request.body, id: request.body.id ?? randomUUID() };
        const deps = depsFor(request);
        // Refused before the stream starts, so the client gets the quota 429 every route sends.
        const refusal = await deps.quota?.check();
        if (refusal) {
          const seconds = Math.max(
            1,
            Math.ceil((refusal.resetsAt - (opts.clock ?? Date.now)()) / 1000),
          );
          reply.header('retry-after', String(seconds));
          reply.header('ratelimit-limit', String(refusal.limit));
          reply.header('ratelimit-remaining', '0');
          reply.header('ratelimit-reset', String(seconds));
          return sendError(reply, 429, 'rate_limit_exceeded', refusal.message);
        }
        const controller = new AbortController();
        // The client went away before the answer ended: stop the model (and its bill) too.
        reply.raw.on('close', () => {
          if (!reply.raw.writableFinished) controller.abort();
        });
        reply.hijack();
        reply.raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          // Reverse proxies (nginx) otherwise buffer the whole answer.
          'x-accel-buffering': 'no',
        });
        try {
          for await (const event of runChat(deps, ask, controller.signal)) {
            if (!reply.raw.destroyed) reply.raw.write(sseFrame(event));
          }
        } finally {
          reply.raw.end();
        }
      },
    );

  await app.register(conversationRoutes);
}
