/** `/conversations`: list, get, rename, delete, export as Markdown; always the caller's own. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  Conversation,
  ConversationList,
  ConversationSummary,
  RenameConversationBody,
} from '../../shared/chat.js';
import { sendError } from '../http/errors.js';
import {
  conversationMarkdown,
  deleteConversation,
  getConversation,
  listConversations,
  renameConversation,
} from './conversations.js';
import { ownerOf, requireJson } from './request.js';

const Params = z.object({ id: z.string().min(1).max(100) });

export const conversationRoutes: FastifyPluginAsyncZod = async (app) => {
  const db = () => app.engine.db;
  const notFound = (reply: Parameters<typeof sendError>[0], id: string) =>
    sendError(reply, 404, 'not_found', `No conversation ${id}`);

  app.get(
    '/conversations',
    { schema: { response: { 200: ConversationList } } },
    async (request) => ({ conversations: await listConversations(db(), ownerOf(request)) }),
  );

  app.get(
    '/conversations/:id',
    { schema: { params: Params, response: { 200: Conversation } } },
    async (request, reply) => {
      const found = await getConversation(db(), ownerOf(request), request.params.id);
      return found ?? notFound(reply, request.params.id);
    },
  );

  app.patch(
    '/conversations/:id',
    {
      onRequest: requireJson,
      schema: {
        params: Params,
        body: RenameConversationBody,
        response: { 200: ConversationSummary },
      },
    },
    async (request, reply) => {
      const title = request.body.title.replace(/\s+/g, ' ');
      const renamed = await renameConversation(db(), ownerOf(request), request.params.id, title);
      return renamed ?? notFound(reply, request.params.id);
    },
  );

  app.delete(
    '/conversations/:id',
    { schema: { params: Params, response: { 200: z.object({ deleted: z.literal(true) }) } } },
    async (request, reply) => {
      if (!(await deleteConversation(db(), ownerOf(request), request.params.id))) {
        return notFound(reply, request.params.id);
      }
      return { deleted: true as const };
    },
  );

  app.get('/conversations/:id/export', { schema: { params: Params } }, async (request, reply) => {
    const found = await getConversation(db(), ownerOf(request), request.params.id);
    if (!found) return notFound(reply, request.params.id);
    return reply
      .type('text/markdown; charset=utf-8')
      .header('content-disposition', `attachment; filename="${found.id}.md"`)
      .send(conversationMarkdown(found));
  });
};
