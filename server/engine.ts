/**
 * The engine: storage, indexing jobs and search behind the one interface the CLI, REST, MCP and
 * chat layers use (server/engine-types.ts).
 */
import type { Job, LibrarySummary, RefreshResponse, SearchResult } from '../shared/api.js';
import { parseLibraryId } from '../shared/library-id.js';
import type { Config } from './config.js';
import type { Db } from './db/db.js';
import { migrate } from './db/migrate.js';
import { openDatabase } from './db/open.js';
import { MIGRATIONS } from './db/schema.js';
import { adoptSchema } from './ops/schema-state.js';
import {
  EngineError,
  type AddSourceRequest,
  type CallContext,
  type Engine,
  type QueryOutcome,
} from './engine-types.js';
import { ChunkPool } from './indexing/chunk-pool.js';
import { indexLibrary } from './indexing/pipeline.js';
import { enqueueRefresh, enqueueTagVersions, planRefresh } from './indexing/refresh.js';
import { openSource, planSource } from './indexing/source-spec.js';
import { cancelJob, enqueueJob, getJobRow, listJobRows, toJob, type JobRow } from './jobs/queue.js';
import { JobRunner, type JobContext } from './jobs/runner.js';
import { loadCheckpoint } from './jobs/checkpoint.js';
import { jobsConfigFromEnv, type JobsConfig } from './jobs/config.js';
import { isTransient } from './jobs/errors.js';
import { IndexCache, warmIndex } from './search/index-cache.js';
import { DEFAULT_QUERY_OPTIONS, queryDocs } from './search/query.js';
import { resolveLibrary } from './search/resolve.js';
import { withoutNul } from './search/text.js';
import { findServingVersion, workspaceVersion } from './search/versions.js';
import { visibilityParams, visibleSql } from './accounts/visibility.js';
import { UsageRecorder } from './usage.js';
import type { EmbeddingsConfig } from './embeddings/config.js';
import { EmbeddingService, type EmbeddingsHealth } from './embeddings/service.js';
import { hybridFusion, type HybridTrace } from './search/hybrid.js';

export interface EngineOptions {
  config: Pick<Config, 'dataDir' | 'databaseUrl'> & { embeddings?: EmbeddingsConfig };
  log?: (msg: string) => void;
  /** Use this database instead of opening one from the config (tests, scripts). */
  db?: Db;
  /** Run indexing jobs in this process (default true). */
  worker?: boolean;
  /** Apply pending migrations at open (default true); false: `serve --no-migrate`, /ready waits. */
  migrate?: boolean;
  /** Allow file:// git URLs for trusted local callers (default true: local CLI use). */
  allowLocalGit?: boolean;
  /** Job runner settings; TWINMCP_JOB_* variables when absent (server/jobs/config.ts). */
  jobs?: Partial<JobsConfig>;
}

export class TwinEngine implements Engine {
  readonly cache = new IndexCache();
  readonly usage: UsageRecorder;
  readonly runner: JobRunner;
  private pool: ChunkPool | undefined;
  /** Present when an embedding provider is configured (hybrid retrieval where vectors exist). */
  readonly embeddings: EmbeddingService | undefined;

  constructor(
    readonly db: Db,
    private readonly opts: EngineOptions,
  ) {
    const log = opts.log ?? (() => {});
    this.usage = new UsageRecorder(db, log);
    this.embeddings = EmbeddingService.create(db, opts.config.embeddings, log);
    const run = (job: JobRow, ctx: JobContext) => this.runIndexJob(job, ctx);
    const jobs = { ...jobsConfigFromEnv(), ...opts.jobs };
    this.runner = new JobRunner(db, { index: run, refresh: run }, { log, ...jobs });
    // Started and warmed now: each worker loads the o200k tables (~1 s) before its first page.
    if (opts.worker !== false) void (this.pool = ChunkPool.create())?.warm();
  }

  async resolve(
    libraryName: string,
    query: string | undefined,
    ctx: CallContext,
  ): Promise<SearchResult[]> {
    const [started, name] = [performance.now(), withoutNul(libraryName).trim()];
    query &&= withoutNul(query);
    if (!name) throw new EngineError('validation_error', 'libraryName must not be empty.');
    const results = await resolveLibrary(this.db, name, 5, ctx.owner);
    // A version the workspace uses wins over the latest, unless the name asked for one.
    for (const r of results) {
      if (r.matchedVersion) continue;
      const version = await workspaceVersion(this.db, r.id, ctx.workspaceDeps);
      if (version) Object.assign(r, { id: `${r.id}/${version}`, matchedVersion: version });
    }
    warmIndex(this.db, this.cache, results[0]?.id, ctx.owner);
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
    libraryId = withoutNul(libraryId);
    question = withoutNul(question);
    if (!question.trim()) throw new EngineError('validation_error', 'query must not be empty.');
    let outcome: QueryOutcome | undefined;
    const trace: HybridTrace = { mode: 'lexical' };
    try {
      const id = await this.withWorkspaceVersion(libraryId, ctx);
      // Someone else's private library answers exactly like one never indexed.
      if (ctx.owner !== undefined) await findServingVersion(this.db, id, ctx.owner);
      const fuse =
        this.embeddings?.usable &&
        hybridFusion(
          this.embeddings,
          question,
          { owner: ctx.owner ?? null, client: ctx.client },
          trace,
        );
      const result = fuse
        ? await queryDocs(this.db, this.cache, id, question, tokens, DEFAULT_QUERY_OPTIONS, fuse)
        : await queryDocs(this.db, this.cache, id, question, tokens);
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
        ...(this.embeddings ? { meta: { search: trace } } : {}),
      });
    }
  }

  /** For `/health`: the provider's state and whether queries are hybrid right now. */
  async embeddingsHealth(): Promise<EmbeddingsHealth> {
    return this.embeddings ? this.embeddings.health() : { state: 'off', search: 'lexical' };
  }

  /** `/o/n` -> `/o/n/<version the workspace uses>` when the client sent its dependencies. */
  private async withWorkspaceVersion(libraryId: string, ctx: CallContext): Promise<string> {
    const parsed = parseLibraryId(libraryId);
    if (!parsed || parsed.version || !ctx.workspaceDeps) return libraryId;
    const version = await workspaceVersion(this.db, parsed.libraryId, ctx.workspaceDeps);
    return version ? `${parsed.libraryId}/${version}` : libraryId;
  }

  async listLibraries(ctx?: CallContext): Promise<LibrarySummary[]> {
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
         FROM libraries l WHERE ${visibleSql('l', 1)} ORDER BY l.id`,
      visibilityParams(ctx?.owner),
    );
    const models = (await this.embeddings?.servingModels()) ?? new Map<string, string>();
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
        ...(this.embeddings?.searchMode(models, r.id, shown?.version) ?? { search: 'lexical' }),
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
    if (req.owner !== undefined) await this.checkLibraryOwner(plan.libraryId, req.owner);
    const row = await enqueueJob(this.db, {
      kind: 'index',
      payload: { ...req, plan },
      owner: req.owner ?? null,
      libraryId: plan.libraryId,
      version: plan.version || null,
    });
    this.runner.poke();
    return toJob(row);
  }

  /** A source may only add to a library of the same owner: no versions slipped into others' ids. */
  private async checkLibraryOwner(libraryId: string, owner: string | null): Promise<void> {
    const rows = await this.db.query<{ owner_account: string | null }>(
      'SELECT owner_account FROM libraries WHERE lower(id) = lower($1)',
      [libraryId],
    );
    if (rows[0] && rows[0].owner_account !== owner) {
      throw new EngineError(
        'conflict',
        `Library id ${libraryId} is taken; choose another id with libraryId (e.g. /your-name/${libraryId.split('/')[2] ?? 'docs'}).`,
      );
    }
  }

  async refresh(rawId: string | undefined, ctx?: CallContext): Promise<RefreshResponse> {
    const parsed = rawId === undefined ? undefined : parseLibraryId(rawId);
    if (rawId !== undefined && !parsed) {
      throw new EngineError('invalid_library_id', `"${rawId}" is not a library id (/owner/name).`);
    }
    const plan = await planRefresh(this.db, parsed?.libraryId, ctx?.owner);
    if (parsed && plan.targets.length === 0 && plan.skipped.length === 0) {
      throw new EngineError('library_not_found', `Library ${parsed.libraryId} is not indexed.`);
    }
    const { jobs, skipped } = await enqueueRefresh(this.db, plan);
    if (jobs.length) this.runner.poke();
    return { jobs: jobs.map(toJob), skipped };
  }

  async getJob(id: string): Promise<Job | undefined> {
    const row = await getJobRow(this.db, id);
    return row ? toJob(row) : undefined;
  }

  async cancelJob(id: string): Promise<Job | undefined> {
    const row = await cancelJob(this.db, id);
    return row ? toJob(row) : undefined;
  }

  async listJobs(owner?: string | null, states?: Job['state'][]): Promise<Job[]> {
    return (await listJobRows(this.db, { owner, ...(states ? { states } : {}) })).map(toJob);
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

  async removeLibrary(rawId: string, ctx?: CallContext): Promise<boolean> {
    const parsed = parseLibraryId(rawId);
    if (!parsed)
      throw new EngineError('invalid_library_id', `"${rawId}" is not a library id (/owner/name).`);
    // An account removes only its own private libraries; public ones need a trusted caller.
    const [all, owner] = visibilityParams(ctx?.owner);
    const removed = parsed.version
      ? await this.db.query<{ id: number }>(
          `DELETE FROM library_versions WHERE lower(library_id) = lower($1) AND version = $2
             AND ($3::boolean OR library_id IN (SELECT id FROM libraries WHERE owner_account = $4::text))
           RETURNING id`,
          [parsed.libraryId, parsed.version, all, owner],
        )
      : await this.db.query<{ id: number }>(
          `DELETE FROM libraries WHERE lower(id) = lower($1) AND ($2::boolean OR owner_account = $3::text)
           RETURNING id`,
          [parsed.libraryId, all, owner],
        );
    return removed.length > 0;
  }

  async close(): Promise<void> {
    // Running jobs go back to the queue with their checkpoint, for another worker or the next start.
    await this.runner.stop({ release: true });
    await this.usage.flush();
    await this.embeddings?.flush();
    await this.pool?.close();
    if (!this.opts.db) await this.db.close();
  }

  private async runIndexJob(job: JobRow, ctx: JobContext) {
    const payload = job.payload as unknown as AddSourceRequest & {
      plan: ReturnType<typeof planSource>;
      refresh?: boolean;
    };
    const plan = payload.plan;
    const resume = await loadCheckpoint(this.db, job.id); // an earlier attempt's staging version
    const source = await openSource(plan, {
      ...(payload.ref ? { ref: payload.ref } : {}),
      allowLocalGit: payload.trustedLocal && this.opts.allowLocalGit !== false,
      db: this.db,
      ...(resume ? { committed: resume.pages.values() } : {}),
    });
    // npm sources name their exact version (and a tarball its library) only once unpacked.
    const libraryId = source.libraryId ?? plan.libraryId;
    const version = plan.version || (source.version ?? '');
    if (libraryId !== plan.libraryId || version !== plan.version) {
      await this.db.query(`UPDATE jobs SET library_id = $2, version = $3 WHERE id = $1`, [
        job.id,
        libraryId,
        version || null,
      ]);
    }
    try {
      const summary = await indexLibrary(this.db, {
        libraryId,
        version,
        title: source.title,
        latest: payload.latest ?? source.latest ?? plan.version === '',
        reuse: payload.refresh === true || source.reuse === true,
        source: source.events,
        sourceInfo: source.info,
        ...(source.description ? { description: source.description } : {}),
        packageNames: source.packageNames,
        ownerAccount: job.owner_account,
        trustScore: plan.kind === 'git' || plan.kind === 'npm' ? 7 : 5,
        jobId: job.id,
        ...(resume ? { resume } : {}),
        keepStagingOnError: (err) => ctx.signal.aborted || isTransient(err),
        signal: ctx.signal,
        onProgress: ctx.progress,
        pool: (this.pool ??= ChunkPool.create()),
        beforePromote: this.embeddings?.beforePromote({
          libraryId,
          owner: job.owner_account,
          signal: ctx.signal,
        }),
      });
      const tags = source.info.previousVersions;
      if (plan.kind === 'git' && !payload.ref && Array.isArray(tags)) {
        const queued = await enqueueTagVersions(
          this.db,
          { ...payload, libraryId, owner: job.owner_account },
          tags.filter((t): t is string => typeof t === 'string'),
        );
        if (queued.length) this.runner.poke();
      }
      const { versionId: _v, snippets: _s, ...progress } = summary;
      return progress;
    } finally {
      await source.close();
    }
  }
}

export async function createEngine(opts: EngineOptions): Promise<TwinEngine> {
  const log = opts.log ?? (() => {});
  const db = opts.db ?? (await openDatabase(opts.config));
  if (opts.migrate === false) await adoptSchema(db, MIGRATIONS);
  else await migrate(db, MIGRATIONS, log);
  const engine = new TwinEngine(db, opts);
  if (opts.worker !== false) engine.runner.start();
  return engine;
}
