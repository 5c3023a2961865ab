/**
 * The engine: storage, indexing jobs and search behind the one interface the CLI, REST, MCP and
 * chat layers use (server/engine-types.ts).
 */
import type { Job, LibrarySummary, SearchResult } from '../shared/api.js';
import { parseLibraryId } from '../shared/library-id.js';
import type { Config } from './config.js';
import type { Db } from './db/db.js';
import { migrate } from './db/migrate.js';
import { openDatabase } from './db/open.js';
import { MIGRATIONS } from './db/schema.js';
import {
  EngineError,
  type AddSourceRequest,
  type CallContext,
  type Engine,
  type QueryOutcome,
} from './engine-types.js';
import { ChunkPool } from './indexing/chunk-pool.js';
import { indexLibrary } from './indexing/pipeline.js';
import { openSource, planSource } from './indexing/source-spec.js';
import { enqueueJob, getJobRow, toJob, type JobRow } from './jobs/queue.js';
import { JobRunner, PermanentJobError, type JobContext } from './jobs/runner.js';
import { IndexCache } from './search/lexical-index.js';
import { queryDocs } from './search/query.js';
import { resolveLibrary } from './search/resolve.js';
import { workspaceVersion } from './search/versions.js';
import { UsageRecorder } from './usage.js';

export interface EngineOptions {
  config: Pick<Config, 'dataDir' | 'databaseUrl'>;
  log?: (msg: string) => void;
  /** Use this database instead of opening one from the config (tests, scripts). */
  db?: Db;
  /** Run indexing jobs in this process (default true). */
  worker?: boolean;
  /** Allow file:// git URLs for trusted local callers (default true: local CLI use). */
  allowLocalGit?: boolean;
}

/** Database errors worth retrying a job for: the connection, not the data. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  '57P01',
  '57P03',
  '08006',
  '08001',
]);

export class TwinEngine implements Engine {
  readonly cache = new IndexCache();
  readonly usage: UsageRecorder;
  readonly runner: JobRunner;
  private pool: ChunkPool | undefined;

  constructor(
    readonly db: Db,
    private readonly opts: EngineOptions,
  ) {
    const log = opts.log ?? (() => {});
    this.usage = new UsageRecorder(db, log);
    this.runner = new JobRunner(db, { index: (job, ctx) => this.runIndexJob(job, ctx) }, { log });
  }

  async resolve(
    libraryName: string,
    query: string | undefined,
    ctx: CallContext,
  ): Promise<SearchResult[]> {
    const started = performance.now();
    const name = libraryName.trim();
    if (!name) throw new EngineError('validation_error', 'libraryName must not be empty.');
    const results = await resolveLibrary(this.db, name);
    // A version the workspace uses wins over the latest, unless the name asked for one.
    for (const r of results) {
      if (r.matchedVersion) continue;
      const version = await workspaceVersion(this.db, r.id, ctx.workspaceDeps);
      if (version) Object.assign(r, { id: `${r.id}/${version}`, matchedVersion: version });
    }
    this.usage.record({
      owner: ctx.owner ?? null,
      client: ctx.client,
      kind: 'resolve',
      libraryId: results[0]?.id ?? null,
      query: query ? `${name} :: ${query}` : name,
      latencyMs: performance.now() - started,
      tokens: 0,
      resultCount: results.length,
    });
    return results;
  }

  async query(
    libraryId: string,
    question: string,
    tokens: number | undefined,
    ctx: CallContext,
  ): Promise<QueryOutcome> {
    const started = performance.now();
    if (!question.trim()) throw new EngineError('validation_error', 'query must not be empty.');
    let outcome: QueryOutcome | undefined;
    try {
      const result = await queryDocs(
        this.db,
        this.cache,
        await this.withWorkspaceVersion(libraryId, ctx),
        question,
        tokens,
      );
      outcome = { json: result.response, text: result.text };
      return outcome;
    } finally {
      this.usage.record({
        owner: ctx.owner ?? null,
        client: ctx.client,
        kind: 'query',
        libraryId,
        query: question,
        latencyMs: performance.now() - started,
        tokens: outcome?.json.totalTokens ?? 0,
        resultCount: outcome
          ? outcome.json.codeSnippets.length + outcome.json.infoSnippets.length
          : 0,
      });
    }
  }

  /** `/o/n` -> `/o/n/<version the workspace uses>` when the client sent its dependencies. */
  private async withWorkspaceVersion(libraryId: string, ctx: CallContext): Promise<string> {
    const parsed = parseLibraryId(libraryId);
    if (!parsed || parsed.version || !ctx.workspaceDeps) return libraryId;
    const version = await workspaceVersion(this.db, parsed.libraryId, ctx.workspaceDeps);
    return version ? `${parsed.libraryId}/${version}` : libraryId;
  }

  async listLibraries(): Promise<LibrarySummary[]> {
    const rows = await this.db.query<{
      id: string;
      title: string;
      description: string;
      trust_score: number;
      source: Record<string, unknown>;
      versions:
        | {
            version: string;
            state: string;
            is_latest: boolean;
            snippets: number;
            tokens: number;
            indexed_at: string | null;
            error: string | null;
          }[]
        | null;
    }>(
      `SELECT l.id, l.title, l.description, l.trust_score, l.source,
              (SELECT json_agg(json_build_object('version', v.version, 'state', v.state, 'is_latest', v.is_latest,
                        'snippets', v.snippet_count, 'tokens', v.token_count, 'indexed_at', v.indexed_at,
                        'error', v.error) ORDER BY v.is_latest DESC, v.created_at DESC)
                 FROM library_versions v WHERE v.library_id = l.id AND v.state <> 'superseded') AS versions
         FROM libraries l ORDER BY l.id`,
    );
    return rows.map((r) => {
      const versions = r.versions ?? [];
      const ready = versions.filter((v) => v.state === 'ready');
      const shown = ready.find((v) => v.is_latest) ?? ready[0];
      const state = ready.length
        ? 'ready'
        : versions.some((v) => v.state === 'indexing')
          ? 'indexing'
          : 'failed';
      const failed = versions.find((v) => v.state === 'failed');
      const src = r.source as { path?: string; url?: string };
      return {
        id: r.id,
        title: r.title,
        description: r.description,
        totalSnippets: Number(shown?.snippets ?? 0),
        totalTokens: Number(shown?.tokens ?? 0),
        trustScore: Number(r.trust_score),
        versions: ready.map((v) => v.version).filter(Boolean),
        lastUpdateDate: shown?.indexed_at ? new Date(shown.indexed_at).toISOString() : null,
        state,
        ...(failed?.error && state !== 'ready' ? { error: failed.error } : {}),
        ...((src.url ?? src.path) ? { source: src.url ?? src.path } : {}),
      };
    });
  }

  async addSource(req: AddSourceRequest): Promise<Job> {
    let plan;
    try {
      plan = planSource(req);
    } catch (err) {
      const message = (err as Error).message;
      throw new EngineError(
        /only from the local CLI/.test(message) ? 'forbidden' : 'validation_error',
        message,
      );
    }
    const row = await enqueueJob(this.db, {
      kind: 'index',
      payload: { ...req, plan },
      owner: null,
      libraryId: plan.libraryId,
      version: plan.version || null,
    });
    this.runner.poke();
    return toJob(row);
  }

  async getJob(id: string): Promise<Job | undefined> {
    const row = await getJobRow(this.db, id);
    return row ? toJob(row) : undefined;
  }

  async waitForJob(id: string, onProgress?: (job: Job) => void): Promise<Job> {
    for (;;) {
      const job = await this.getJob(id);
      if (!job) throw new EngineError('job_not_found', `No job ${id}.`);
      onProgress?.(job);
      if (job.state === 'succeeded' || job.state === 'failed' || job.state === 'cancelled')
        return job;
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  async removeLibrary(rawId: string): Promise<boolean> {
    const parsed = parseLibraryId(rawId);
    if (!parsed)
      throw new EngineError('invalid_library_id', `"${rawId}" is not a library id (/owner/name).`);
    const removed = parsed.version
      ? await this.db.query<{ id: number }>(
          `DELETE FROM library_versions WHERE lower(library_id) = lower($1) AND version = $2 RETURNING id`,
          [parsed.libraryId, parsed.version],
        )
      : await this.db.query<{ id: number }>(
          `DELETE FROM libraries WHERE lower(id) = lower($1) RETURNING id`,
          [parsed.libraryId],
        );
    return removed.length > 0;
  }

  async close(): Promise<void> {
    await this.runner.stop();
    await this.usage.flush();
    await this.pool?.close();
    if (!this.opts.db) await this.db.close();
  }

  private async runIndexJob(job: JobRow, ctx: JobContext) {
    const payload = job.payload as unknown as AddSourceRequest & {
      plan: ReturnType<typeof planSource>;
    };
    const plan = payload.plan;
    const source = await openSource(plan, {
      ...(payload.ref ? { ref: payload.ref } : {}),
      allowLocalGit: payload.trustedLocal && this.opts.allowLocalGit !== false,
    });
    try {
      const summary = await indexLibrary(this.db, {
        libraryId: plan.libraryId,
        version: plan.version,
        title: source.title,
        latest: payload.latest ?? plan.version === '',
        source: source.events,
        sourceInfo: source.info,
        ...(source.description ? { description: source.description } : {}),
        packageNames: source.packageNames,
        ownerAccount: job.owner_account,
        trustScore: plan.kind === 'git' ? 7 : 5,
        jobId: job.id,
        signal: ctx.signal,
        onProgress: ctx.progress,
        pool: (this.pool ??= ChunkPool.create()),
      });
      const { versionId: _v, snippets: _s, ...progress } = summary;
      return progress;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code && TRANSIENT_CODES.has(code)) throw err;
      throw new PermanentJobError((err as Error).message);
    } finally {
      await source.close();
    }
  }
}

export async function createEngine(opts: EngineOptions): Promise<TwinEngine> {
  const log = opts.log ?? (() => {});
  const db = opts.db ?? (await openDatabase(opts.config));
  await migrate(db, MIGRATIONS, log);
  const engine = new TwinEngine(db, opts);
  if (opts.worker !== false) engine.runner.start();
  return engine;
}
