/**
 * The engine's face toward the interfaces (CLI, REST, MCP, chat). Domain code lives in
 * server/indexing, server/search and server/jobs; this is the one object the HTTP and CLI layers hold.
 */
import type {
  AddSourceBody,
  ContextResponse,
  ErrorCode,
  Job,
  LibrarySummary,
  RefreshResponse,
  SearchResult,
} from '../shared/api.js';
import type { Db } from './db/db.js';
import type { EmbeddingsHealth } from './embeddings/service.js';

/** Who is calling, for usage events and (later) ownership. */
export interface CallContext {
  client: 'cli' | 'rest' | 'mcp' | 'chat' | 'hover' | 'eval' | 'bench';
  /**
   * Account id; null = anonymous (public libraries only); absent = a trusted local caller (auth
   * off, the CLI, the local admin token) who sees every library. See server/accounts/visibility.ts.
   */
  owner?: string | null;
  /** Workspace dependency versions, package name -> version or range. */
  workspaceDeps?: Record<string, string>;
}

export interface QueryOutcome {
  json: ContextResponse;
  /** The Context7 text layout (see ../shared/notes/mcp-contract.md). */
  text: string;
}

export interface AddSourceRequest extends AddSourceBody {
  /** True only for the local CLI or a caller holding the local admin token: allows paths and file:// URLs. */
  trustedLocal: boolean;
  /** The account that will own the library (private); null or absent = public. */
  owner?: string | null;
}

export interface Engine {
  readonly db: Db;
  resolve(
    libraryName: string,
    query: string | undefined,
    ctx: CallContext,
  ): Promise<SearchResult[]>;
  /** Throws EngineError(invalid_library_id | library_not_found | no_snippets_found). */
  query(
    libraryId: string,
    query: string,
    tokens: number | undefined,
    ctx: CallContext,
  ): Promise<QueryOutcome>;
  /** Libraries visible to `ctx.owner` (all of them without a ctx). */
  listLibraries(ctx?: CallContext): Promise<LibrarySummary[]>;
  /** Queues an indexing job and returns it at once; the in-process runner executes it. */
  addSource(req: AddSourceRequest): Promise<Job>;
  getJob(id: string): Promise<Job | undefined>;
  /**
   * Cancels a job (server/jobs/queue.ts): queued -> cancelled at once, running -> flagged and
   * stopped by its worker. The job as it is after that; undefined when there is no such job.
   * Optional so test fakes need not implement it; callers check ownership first.
   */
  cancelJob?(id: string): Promise<Job | undefined>;
  /** Jobs newest first: `owner`'s (null = public ones) or every job when owner is undefined. */
  listJobs?(owner?: string | null, states?: Job['state'][]): Promise<Job[]>;
  /**
   * Queues `refresh` jobs re-indexing a library (every library when undefined) from its stored
   * sources; only `ctx.owner`'s libraries when an owner is given. Optional so test fakes need not
   * implement it. Throws EngineError(invalid_library_id | library_not_found).
   */
  refresh?(libraryId: string | undefined, ctx?: CallContext): Promise<RefreshResponse>;
  /** Resolves when the job has ended (succeeded, failed or cancelled). */
  waitForJob(id: string, onProgress?: (job: Job) => void): Promise<Job>;
  /** Removes a library (or one version with `/owner/name/v1`); false when it did not exist. */
  removeLibrary(libraryId: string, ctx?: CallContext): Promise<boolean>;
  close(): Promise<void>;
  /** Embedding provider state for `/health`; absent = embeddings off (server/embeddings/service.ts). */
  embeddingsHealth?(): Promise<EmbeddingsHealth>;
}

const STATUS: Record<ErrorCode, number> = {
  invalid_library_id: 400,
  validation_error: 400,
  invalid_api_key: 401,
  forbidden: 403,
  library_not_found: 404,
  no_snippets_found: 404,
  job_not_found: 404,
  not_found: 404,
  conflict: 409,
  unsupported_media_type: 415,
  library_too_large: 422,
  unprocessable: 422,
  rate_limit_exceeded: 429,
  internal_error: 500,
};

/** An error with a stable code; the HTTP layer maps it to `{error, message}` and a status. */
export class EngineError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Closest libraries, for not-found errors. */
    readonly suggestions: string[] = [],
  ) {
    super(message);
    this.name = 'EngineError';
    this.status = STATUS[code];
  }
}
