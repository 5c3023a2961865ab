/**
 * The MCP tools: Context7's names, arguments and text layout. Handlers call the engine and only
 * format; every failure the model can act on comes back as an `isError` result in plain text.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { clampTokens } from '../../shared/api.js';
import { parseLibraryId } from '../../shared/library-id.js';
import type { GetLibraryDocsArgs, QueryDocsArgs, ResolveLibraryIdArgs } from '../../shared/mcp.js';
import { EngineError, type CallContext, type Engine } from '../engine-types.js';
import { countTokens, truncateToTokens } from '../indexing/tokens.js';
import { formatLibraries, SNIPPET_SEPARATOR } from '../search/format.js';
import { publishToolCall } from '../ops/observe.js';

/** What the tools need from the engine; the real Engine and the CLI backends both fit. */
export interface McpEngine {
  resolve: Engine['resolve'];
  query(
    libraryId: string,
    query: string,
    tokens: number | undefined,
    ctx: CallContext,
  ): Promise<{ text: string }>;
  listLibraries: Engine['listLibraries'];
}

/**
 * Claude Code warns above 10,000 tokens of tool output and cuts at 25,000; staying under the cut
 * keeps whole snippets instead of a half code block.
 */
export const MAX_OUTPUT_TOKENS = 25_000;

/** Backend p99.9 is ~3 s (Context7's published figure); 10 s means something is stuck. */
export const DEFAULT_TOOL_TIMEOUT_MS = 10_000;

/** Used by the deprecated get-library-docs when no topic is given, after the library's name. */
const DEFAULT_TOPIC = 'getting started installation usage example';

export interface ToolContext {
  engine: McpEngine;
  ctx: CallContext;
  timeoutMs: number;
}

export function resolveLibraryId(
  tc: ToolContext,
  args: ResolveLibraryIdArgs,
): Promise<CallToolResult> {
  return run(tc, 'resolve-library-id', async () => {
    const results = await tc.engine.resolve(args.libraryName, args.query, tc.ctx);
    if (results.length === 0) {
      return errorResult(
        `No indexed library matches "${args.libraryName}". Try the official or a shorter name ` +
          '(e.g. "next" for "Next.js app router"); the library may not be indexed yet.',
      );
    }
    return textResult(formatLibraries(results));
  });
}

export function queryDocs(tc: ToolContext, args: QueryDocsArgs): Promise<CallToolResult> {
  return run(tc, 'query-docs', async () => {
    const outcome = await tc.engine.query(
      args.libraryId,
      args.query,
      clampTokens(args.tokens),
      tc.ctx,
    );
    return textResult(clampOutput(outcome.text));
  });
}

export function getLibraryDocs(tc: ToolContext, args: GetLibraryDocsArgs): Promise<CallToolResult> {
  const libraryId = args.context7CompatibleLibraryID;
  // The engine needs a question; a library's name is in its overview pages.
  const name = parseLibraryId(libraryId)?.name ?? '';
  const topic = args.topic?.trim() || `${name} ${DEFAULT_TOPIC}`.trim();
  return queryDocs(tc, {
    libraryId,
    query: topic,
    ...(args.tokens !== undefined ? { tokens: args.tokens } : {}),
  });
}

/** Cuts `text` to `max` tokens at a snippet boundary, saying so at the end. */
export function clampOutput(text: string, max = MAX_OUTPUT_TOKENS): string {
  if (countTokens(text) <= max) return text;
  const note = `\n\n[Output cut to ${max} tokens. Ask a narrower question or pass a smaller "tokens" value.]`;
  const budget = max - countTokens(note) - 16;
  const separatorTokens = countTokens(SNIPPET_SEPARATOR);
  const kept: string[] = [];
  let used = 0;
  for (const snippet of text.split(SNIPPET_SEPARATOR)) {
    // +1: BPE can merge differently across a join; a token per snippet is a safe margin.
    const cost = countTokens(snippet) + (kept.length ? separatorTokens : 0) + 1;
    if (used + cost > budget) break;
    kept.push(snippet);
    used += cost;
  }
  const body = kept.length ? kept.join(SNIPPET_SEPARATOR) : truncateToTokens(text, budget);
  return body + note;
}

async function run(
  tc: ToolContext,
  tool: string,
  body: () => Promise<CallToolResult>,
): Promise<CallToolResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CallToolResult>((resolve) => {
    timer = setTimeout(
      () =>
        resolve(
          errorResult(
            `${tool} timed out after ${Math.round(tc.timeoutMs / 1000)} s. Retry once; if it ` +
              'times out again, ask a shorter question or try later.',
          ),
        ),
      tc.timeoutMs,
    );
  });
  const started = performance.now();
  let result: CallToolResult | undefined;
  try {
    result = await Promise.race([body().catch(toErrorResult), timeout]);
    return result;
  } finally {
    clearTimeout(timer);
    publishToolCall({
      engine: tc.engine,
      tool,
      seconds: (performance.now() - started) / 1000,
      outcome: result && !result.isError ? 'ok' : 'error',
    });
  }
}

function toErrorResult(err: unknown): CallToolResult {
  if (!isEngineError(err)) {
    // Internal details stay out of the model's context.
    return errorResult(
      'TwinMCP failed to answer (internal error). Retry once, then tell the user.',
    );
  }
  switch (err.code) {
    case 'library_not_found': {
      const missing = err.suggestions.filter((s) => !err.message.includes(s));
      const closest = missing.length ? ` Closest libraries: ${missing.join(', ')}.` : '';
      const hint = /resolve-library-id/.test(err.message)
        ? ''
        : ' Call resolve-library-id to find the right id.';
      return errorResult(`${err.message}${closest}${hint}`);
    }
    case 'no_snippets_found':
      return errorResult(
        /other words/i.test(err.message)
          ? err.message
          : `${err.message} Try other words for the same concept, e.g. an API name.`,
      );
    case 'invalid_library_id':
      return errorResult(
        /resolve-library-id/.test(err.message)
          ? err.message
          : `${err.message} Library ids look like /owner/name or /owner/name/version; call resolve-library-id to find one.`,
      );
    default:
      return errorResult(err.message);
  }
}

// By name as well as by class: a module loaded twice (tsx under mocha, where app.ts imports this
// layer dynamically) has two EngineError classes.
function isEngineError(err: unknown): err is EngineError {
  return (
    err instanceof EngineError ||
    (err instanceof Error &&
      err.name === 'EngineError' &&
      typeof (err as Partial<EngineError>).code === 'string' &&
      Array.isArray((err as Partial<EngineError>).suggestions))
  );
}

function textResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }] };
}

function errorResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}
