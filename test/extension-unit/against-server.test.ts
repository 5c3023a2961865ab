/**
 * The extension's logic against a real TwinMCP server holding two versions of one library: hover
 * lookups (the workspace's locked version picks the docs, answers are cached, cancelled lookups
 * are not) and the chat session (streamed answers, transcript and conversation kept, chips).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../server/db/db.js';
import type { TwinEngine } from '../../server/engine.js';
import { apiUrl, ServerClient, type CallOptions } from '../../extension/client.js';
import { ChatSession } from '../../extension/chat-session.js';
import { HoverDocs } from '../../extension/hover-docs.js';
import type { Services } from '../../extension/services.js';
import type { WorkspaceDeps } from '../../extension/workspace-deps.js';
import type { HostMessage } from '../../shared/webview-protocol.js';
import { hoverTarget } from '../../extension/hover-imports.js';
import { openTestPglite } from '../helpers/backends.js';
import { startApp, type RunningApp } from '../helpers/signin-browser.js';

/** Records each call's URL (path and query) before making it. */
class CountingClient extends ServerClient {
  override json<T>(path: string, opts: CallOptions = {}): Promise<T> {
    requests.push(apiUrl('http://x', path, opts.query).toString().slice('http://x'.length));
    return super.json<T>(path, opts);
  }
}
let requests: string[] = [];

const SOURCE = `import { createWidget } from 'kit';
import { other } from 'not-indexed';

const w = createWidget({ size: 3 });
other();
`;

describe('extension logic against a real server', function () {
  let db: Db;
  let running: RunningApp;
  let tmp: string;
  let client: ServerClient;

  before(async function () {
    this.timeout(180_000);
    db = await openTestPglite();
    running = await startApp(db, {});
    // startApp builds the engine without its runner (worker: false); index in-process here.
    (running.engine as TwinEngine).runner.start();
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-hover-'));
    for (const [version, note] of [
      ['v1', 'takes a size in pixels (v1 API)'],
      ['v2', 'takes a size in rem units (v2 API)'],
    ] as const) {
      const dir = join(tmp, version);
      mkdirSync(dir);
      writeFileSync(
        join(dir, 'index.md'),
        `# Kit\n\nKit draws widgets.\n\n## createWidget\n\n\`createWidget(options)\` ${note}.\n\n\`\`\`ts\nimport { createWidget } from 'kit';\nconst w = createWidget({ size: 3 }); // ${version}\n\`\`\`\n\n## Themes\n\nThemes change colours of every widget.\n`,
      );
      const job = await running.engine.addSource({
        source: dir,
        libraryId: '/acme/kit',
        version,
        latest: version === 'v2',
        trustedLocal: true,
      });
      const done = await running.engine.waitForJob(job.id);
      assert.equal(done.state, 'succeeded', done.error ?? '');
    }
    requests = [];
  });

  after(async () => {
    await running?.close();
    await db?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  beforeEach(() => {
    requests.length = 0;
    client = new CountingClient({ serverUrl: () => running.base, key: async () => undefined });
  });

  const targetAt = (docs: HoverDocs, needle: string) => {
    const imports = docs.importsOf('file:///a.ts', 1, 'typescript', () => SOURCE);
    const target = hoverTarget(SOURCE, SOURCE.indexOf(needle) + 1, imports);
    assert.ok(target, needle);
    return target;
  };

  it('shows the docs of the locked version, then answers from the cache', async () => {
    const docs = new HoverDocs(client, () => true);
    const target = targetAt(docs, 'createWidget({');
    assert.deepEqual(target, {
      packageName: 'kit',
      symbol: 'createWidget',
      display: 'kit.createWidget',
    });
    const v1 = await docs.markdown(target, '1.4.2', new AbortController().signal);
    assert.ok(v1, 'a hover for kit 1.4.2');
    assert.equal(v1.split('\n')[0], '**kit\\.createWidget** — `/acme/kit/v1` v1');
    assert.match(v1, /pixels/);
    assert.doesNotMatch(v1, /rem units/);
    assert.ok(requests.some((u) => u.startsWith('/api/v1/libs/search?libraryName=kit')));
    assert.ok(requests.some((u) => u.includes('libraryId=%2Facme%2Fkit%2Fv1')));

    const before = requests.length;
    const again = await docs.markdown(target, '1.4.2', new AbortController().signal);
    assert.equal(again, v1);
    assert.equal(requests.length, before, 'the warm hover asked the server nothing');

    const v2 = await docs.markdown(target, '2.0.1', new AbortController().signal);
    assert.match(v2 ?? '', /rem units/);
    // Another locked version resolves again, naming it, so the server preloads that version.
    assert.equal(requests.length, before + 2, 'one resolve and one query for kit 2.0.1');
    const unlocked = await docs.markdown(target, undefined, new AbortController().signal);
    assert.match(unlocked ?? '', /`\/acme\/kit\/v2` v2/, 'no lockfile: the latest version');
  });

  it('warms a document imports: the first hover then asks only for the snippet', async () => {
    const docs = new HoverDocs(client, () => true);
    const target = targetAt(docs, 'createWidget({');
    const imports = docs.importsOf('file:///a.ts', 1, 'typescript', () => SOURCE);
    const before = requests.length;
    docs.warm(imports, (name) => (name === 'kit' ? '1.4.2' : undefined));
    const deadline = Date.now() + 10_000;
    while (
      !requests.slice(before).some((u) => u.startsWith('/api/v1/libs/search?libraryName=kit'))
    ) {
      assert.ok(Date.now() < deadline, 'warm resolved kit');
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200));
    const afterWarm = requests.length;
    const v1 = await docs.markdown(target, '1.4.2', new AbortController().signal);
    assert.match(v1 ?? '', /`\/acme\/kit\/v1` v1/);
    assert.deepEqual(
      requests.slice(afterWarm).map((u) => u.split('?')[0]),
      ['/api/v1/context'],
    );
  });

  it('shows nothing for packages without indexed docs', async () => {
    const docs = new HoverDocs(client, () => true);
    assert.equal(
      await docs.markdown(targetAt(docs, 'other()'), '1.0.0', new AbortController().signal),
      null,
    );
  });

  it('does not cache a cancelled lookup', async () => {
    const docs = new HoverDocs(client, () => false);
    const target = targetAt(docs, 'createWidget({');
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(docs.markdown(target, '1.4.2', controller.signal), /Cancelled/);
    assert.equal(docs.cached(target, '1.4.2'), undefined);
    assert.match(
      (await docs.markdown(target, '1.4.2', new AbortController().signal)) ?? '',
      /pixels/,
    );
  });

  describe('chat session', () => {
    const memento = () => {
      const m = new Map<string, unknown>();
      return {
        get: <T>(k: string, d?: T) => (m.has(k) ? (m.get(k) as T) : d),
        update: async (k: string, v: unknown) => void m.set(k, v),
        keys: () => [...m.keys()],
      };
    };
    const session = (
      workspaceState = memento(),
      deps: Record<string, string> = { kit: '1.4.2' },
    ) => {
      const services = { client, context: { workspaceState } } as unknown as Services;
      const workspace = {
        record: async () => deps,
        get: async () => new Map(Object.entries(deps)),
      } as unknown as WorkspaceDeps;
      const s = new ChatSession(services, workspace);
      const posted: HostMessage[] = [];
      s.post = (m) => void posted.push(m);
      return { s, posted, workspaceState };
    };

    it('streams an answer for the locked version and keeps it across a reload', async () => {
      const { s, posted, workspaceState } = session();
      const entry = await s.ask('q1', 'How do I create a widget with createWidget?', ['/acme/kit']);
      assert.equal(entry.error, undefined, JSON.stringify(entry.error));
      assert.equal(
        entry.retrievalOnly,
        true,
        'no model on this server: the snippets are the answer',
      );
      assert.deepEqual(entry.libraries, ['/acme/kit/v1'], 'workspaceDeps picked v1');
      assert.ok(entry.sources.length > 0);
      const types = posted.map((m) => (m.type === 'chat/event' ? m.event.type : m.type));
      assert.equal(types[0], 'retrieval');
      assert.equal(types.at(-1), 'done');
      const conversationId = s.conversationId();
      assert.ok(conversationId);

      // A reload: a new session over the same workspace state restores the transcript.
      const again = session(workspaceState).s;
      const restore = again.restoreMessage();
      assert.equal(restore.type, 'chat/restore');
      if (restore.type !== 'chat/restore') return;
      assert.deepEqual(restore.transcript, [entry]);
      assert.equal(restore.conversationId, conversationId);
      const second = await again.ask('q2', 'And themes?', ['/acme/kit']);
      assert.equal(second.error, undefined);
      assert.equal(
        again.conversationId(),
        conversationId,
        'the follow-up continued the conversation',
      );
      assert.equal(again.transcript().length, 2);

      await again.clear();
      assert.deepEqual(again.transcript(), []);
      assert.equal(again.conversationId(), null);
    });

    it('ends a cancelled question with a cancelled entry', async () => {
      const { s } = session();
      const pending = s.ask('q3', 'createWidget options', []);
      s.cancel('q3');
      const entry = await pending;
      assert.equal(entry.error?.code, 'cancelled');
    });

    it('suggests chips from the question and from the workspace, and forgets removed ones', async () => {
      const { s, posted } = session();
      const [chip, ...rest] = await s.detect('how does kit draw widgets');
      assert.deepEqual(rest, []);
      assert.equal(chip?.libraryId, '/acme/kit/v1', 'the stored version the lockfile means');
      assert.equal(chip?.origin, 'question');
      assert.match(chip?.label ?? '', / 1\.4\.2$/, 'labelled with the locked version');
      assert.deepEqual(
        (await s.detect('how do I draw a widget')).map((c) => c.origin),
        ['workspace'],
      );
      s.removeChip('/acme/kit/v1');
      assert.deepEqual(await s.detect('how does kit draw widgets'), []);
      assert.ok(posted.every((m) => m.type === 'chat/chips'));
    });
  });
});
