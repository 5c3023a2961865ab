/**
 * The hover's lookups, without vscode (unit-tested against a real server): the package of a
 * hovered import -> its library id (`/api/v1/libs/search`, cached per package) -> the stored
 * version the workspace locks -> the best snippet (`/api/v1/context`) -> Markdown, cached by
 * package@version+symbol. Failed or cancelled lookups are not cached.
 */
import type { ContextResponse, SearchResponse } from '../shared/api.js';
import { parseLibraryId } from '../shared/library-id.js';
import { libraryNames } from './chips.js';
import { WORKSPACE_DEPS_HEADER } from './deps-header.js';
import { ApiError, type ServerClient } from './client.js';
import { jsImports, pythonImports, type HoverTarget, type ImportMap } from './hover-imports.js';
import { bestSnippet, hoverMarkdown } from './hover-markdown.js';
import { Lru } from './lru.js';
import { storedVersionFor } from './versions.js';

// 1000 tokens is the server's minimum budget: a few snippets, enough to pick the best one from.
const HOVER_TOKENS = 1000;

interface LibraryMatch {
  id: string;
  versions: string[];
}

export class HoverDocs {
  private readonly imports = new Lru<string, { version: number; map: ImportMap }>(50);
  private readonly libraries = new Lru<string, Promise<LibraryMatch | null>>(500);
  private readonly hovers = new Lru<string, Promise<string | null>>(500);

  constructor(
    private readonly client: ServerClient,
    /** Whether to label lookups as hovers (`vscode.env.isTelemetryEnabled`). */
    private readonly labelAsHover: () => boolean,
  ) {}

  /** A document's imports, parsed once per document version. */
  importsOf(key: string, version: number, languageId: string, text: () => string): ImportMap {
    const hit = this.imports.get(key);
    if (hit && hit.version === version) return hit.map;
    const map = languageId === 'python' ? pythonImports(text()) : jsImports(text());
    this.imports.set(key, { version, map });
    return map;
  }

  /** The cached Markdown for a target, if a lookup for it already ran or runs. */
  cached(target: HoverTarget, locked: string | undefined): Promise<string | null> | undefined {
    return this.hovers.get(cacheKey(target, locked));
  }

  /** Markdown for a hovered symbol; null when the package has no indexed docs for it. */
  markdown(
    target: HoverTarget,
    locked: string | undefined,
    signal: AbortSignal,
  ): Promise<string | null> {
    const key = cacheKey(target, locked);
    let result = this.hovers.get(key);
    if (!result) {
      result = this.lookup(target, locked, signal);
      this.hovers.set(key, result);
      result.catch(() => this.hovers.delete(key));
    }
    return result;
  }

  clear(): void {
    this.libraries.clear();
    this.hovers.clear();
  }

  /**
   * Resolves a document's imported packages ahead of the first hover (deferred, in the
   * background): the server loads the locked version's index on a resolve, so the first hover
   * then costs one warm query instead of a resolve plus a cold index load.
   */
  warm(imports: ImportMap, lockedOf: (packageName: string) => string | undefined): void {
    const packages = new Set([...imports.values()].map((b) => b.packageName));
    for (const name of [...packages].slice(0, 20)) {
      this.library(name, lockedOf(name), new AbortController().signal).catch(() => {});
    }
  }

  private library(
    packageName: string,
    locked: string | undefined,
    signal: AbortSignal,
  ): Promise<LibraryMatch | null> {
    const key = `${packageName}@${locked ?? ''}`;
    let found = this.libraries.get(key);
    if (!found) {
      found = this.client
        .json<SearchResponse>('/api/v1/libs/search', {
          query: { libraryName: packageName },
          // The locked version lets the server pick (and preload) that version's index.
          ...(locked
            ? { headers: { [WORKSPACE_DEPS_HEADER]: JSON.stringify({ [packageName]: locked }) } }
            : {}),
          signal,
        })
        .then((r) => {
          // Only a library that answers to the package's own name: a near miss shows wrong docs.
          const name = packageName.toLowerCase();
          const hit = r.results
            .map((lib) => ({ ...lib, id: parseLibraryId(lib.id)?.libraryId ?? lib.id }))
            .find((lib) => lib.id === `/npm/${name}` || libraryNames(lib).includes(name));
          return hit ? { id: hit.id, versions: hit.versions } : null;
        });
      this.libraries.set(key, found);
      found.catch(() => this.libraries.delete(key));
    }
    return found;
  }

  private async lookup(
    target: HoverTarget,
    locked: string | undefined,
    signal: AbortSignal,
  ): Promise<string | null> {
    const lib = await this.library(target.packageName, locked, signal);
    if (!lib) return null;
    const version = locked ? storedVersionFor(locked, lib.versions) : undefined;
    const libraryId = version ? `${lib.id}/${version}` : lib.id;
    let context: ContextResponse;
    try {
      context = await this.client.json<ContextResponse>('/api/v1/context', {
        query: { libraryId, query: target.symbol, tokens: HOVER_TOKENS, type: 'json' },
        signal,
        ...(this.labelAsHover() ? { client: 'hover' } : {}),
      });
    } catch (err) {
      if (
        err instanceof ApiError &&
        (err.code === 'no_snippets_found' || err.code === 'library_not_found')
      ) {
        return null;
      }
      throw err;
    }
    const snippet = bestSnippet([...context.codeSnippets, ...context.infoSnippets], target.symbol);
    if (!snippet) return null;
    return hoverMarkdown({
      display: target.display,
      libraryId: parseLibraryId(context.libraryId)?.libraryId ?? lib.id,
      version: context.version,
      ...(locked ? { locked } : {}),
      snippet,
    });
  }
}

function cacheKey(target: HoverTarget, locked: string | undefined): string {
  return `${target.packageName}@${locked ?? ''}:${target.symbol}`;
}
