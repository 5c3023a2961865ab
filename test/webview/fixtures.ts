/** Sample host messages for the webview tests. */
import type { ChatSource, ServerEvent } from '../../shared/chat.js';
import type { HostMessage } from '../../shared/webview-protocol.js';

export const SOURCES: ChatSource[] = [
  {
    n: 1,
    libraryId: '/colinhacks/zod/3.23.8',
    title: 'Object schemas',
    breadcrumb: ['API', 'Objects'],
    source: 'https://zod.dev/api#objects',
    path: 'docs/api.md#objects',
    content: 'z.object({...})',
    tokens: 12,
  },
  {
    n: 2,
    libraryId: '/colinhacks/zod/3.23.8',
    title: 'Parsing',
    breadcrumb: ['Basics'],
    source: 'docs/basics.md#parsing',
    path: 'docs/basics.md#parsing',
    content: 'schema.parse(x)',
    tokens: 8,
  },
];

/** Wraps a server event as the host forwards it. */
export function chatEvent(event: ServerEvent): HostMessage {
  return { type: 'chat/event', event };
}

export function retrieval(id: string): HostMessage {
  return chatEvent({
    type: 'retrieval',
    id,
    conversationId: 'conv-1',
    libraries: ['/colinhacks/zod/3.23.8'],
    snippets: SOURCES,
  });
}

export function done(id: string, retrievalOnly = false): HostMessage {
  return chatEvent({
    type: 'done',
    id,
    conversationId: 'conv-1',
    retrievalOnly,
    usage: {
      provider: retrievalOnly ? 'none' : 'openai',
      model: retrievalOnly ? 'none' : 'gpt-test',
      inputTokens: 10,
      outputTokens: 20,
      latencyMs: 5,
    },
  });
}

export const CITATIONS = {
  '1': {
    title: 'Object schemas',
    source: 'https://zod.dev/api#objects',
    path: 'docs/api.md#objects',
    libraryId: '/colinhacks/zod/3.23.8',
  },
};

/** An account page payload: 30 days of usage with some non-zero days. */
export function accountData(): HostMessage {
  const daily = Array.from({ length: 30 }, (_, i) => {
    const date = new Date(Date.UTC(2026, 10, 2 + i)).toISOString().slice(0, 10);
    return { date, queries: (i * 7) % 23, hover: (i * 3) % 11, tokens: i % 5 === 0 ? 1200 : 300 };
  });
  return {
    type: 'account/data',
    account: {
      id: 'acc_1',
      email: 'ada@example.com',
      name: 'Ada',
      plan: 'free',
      isAdmin: false,
      createdAt: '2026-11-01T10:00:00.000Z',
    },
    plan: {
      name: 'free',
      limits: {
        queriesPerDay: 100,
        hoverPerDay: 500,
        chatTokensPerMonth: 50000,
        privateLibraries: 1,
        requestsPerWindow: 60,
      },
    },
    usage: {
      plan: 'free',
      quotas: [
        { quota: 'queries', used: 42, limit: 100, resetsAt: '2026-12-03T00:00:00.000Z' },
        { quota: 'hover', used: 480, limit: 500, resetsAt: '2026-12-03T00:00:00.000Z' },
        { quota: 'chatTokens', used: 12000, limit: 50000, resetsAt: '2027-01-01T00:00:00.000Z' },
        { quota: 'privateLibraries', used: 0, limit: null, resetsAt: null },
      ],
      daily,
    },
    keys: [
      {
        id: 'key_1',
        prefix: 'tmcp_ab12',
        name: 'laptop',
        admin: false,
        createdAt: '2026-11-02T10:00:00.000Z',
        lastUsedAt: '2026-12-01T09:00:00.000Z',
        revokedAt: null,
      },
      {
        id: 'key_2',
        prefix: 'tmcp_cd34',
        name: 'old ci',
        admin: false,
        createdAt: '2026-10-02T10:00:00.000Z',
        lastUsedAt: null,
        revokedAt: '2026-11-20T10:00:00.000Z',
      },
    ],
    upgradePlans: ['pro', 'team'],
  };
}
