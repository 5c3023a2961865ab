/** All CLI text output: pure functions from results to strings. */
import type { Job, JobProgress, LibrarySummary, SearchResult } from '../../shared/api.js';
import { formatLibraryId } from '../../shared/library-id.js';

/** `twinmcp list`. */
export function formatLibraries(libraries: readonly LibrarySummary[]): string {
  if (libraries.length === 0) return 'No libraries yet. Add one with: twinmcp add <path|git-url>\n';
  return libraries.map(formatLibraryLine).join('\n') + '\n';
}

function formatLibraryLine(lib: LibrarySummary): string {
  const versions = lib.versions.length ? `  versions: ${lib.versions.join(', ')}` : '';
  const state = lib.state === 'ready' ? '' : `  [${lib.state}${lib.error ? `: ${lib.error}` : ''}]`;
  const search =
    lib.search === 'hybrid'
      ? `  search: hybrid (${lib.embeddingModel ?? 'embeddings'})`
      : lib.search === 'lexical' && lib.state === 'ready'
        ? '  search: lexical-only'
        : '';
  return `${lib.id}  ${lib.title}  ${lib.totalSnippets} snippets, ${formatCount(lib.totalTokens)} tokens${versions}${search}${state}`;
}

/** `twinmcp resolve`: one block per match, best first. */
export function formatSearchResults(results: readonly SearchResult[]): string {
  if (results.length === 0) return 'No matching libraries.\n';
  return (
    results
      .map((r) => {
        const lines = [
          `${formatLibraryId(r.id, r.matchedVersion)}  ${r.title}`,
          r.description ? `  ${r.description}` : '',
          `  ${r.totalSnippets} snippets` +
            (r.versions.length ? `, versions: ${r.versions.join(', ')}` : ''),
        ];
        return lines.filter(Boolean).join('\n');
      })
      .join('\n\n') + '\n'
  );
}

/** One line of progress, for logs and non-TTY output. */
export function formatProgressLine(progress: JobProgress): string {
  return (
    `${progress.phase}: ${progress.pages} pages, ${progress.chunks} chunks, ` +
    `${formatCount(progress.tokens)} tokens (${formatDuration(progress.elapsedMs)})`
  );
}

/** The closing summary of `twinmcp add`. */
export function formatJobSummary(job: Job): string {
  const id = job.libraryId ? formatLibraryId(job.libraryId, job.version) : 'library';
  const p = job.progress;
  const lines: string[] = [];
  if (job.state === 'succeeded') {
    lines.push(
      p
        ? `Indexed ${id}: ${p.pages} pages, ${p.chunks} chunks, ${formatCount(p.tokens)} tokens in ${formatDuration(p.elapsedMs)}`
        : `Indexed ${id}`,
    );
  } else {
    lines.push(`Indexing ${id} ${job.state}${job.error ? `: ${job.error}` : ''}`);
  }
  if (p && p.skipped.length > 0) {
    lines.push(`Skipped ${p.skipped.length} file${p.skipped.length === 1 ? '' : 's'}:`);
    // Long skip lists drown the summary; the first 20 show the pattern.
    for (const s of p.skipped.slice(0, 20)) lines.push(`  ${s.path}: ${s.reason}`);
    if (p.skipped.length > 20) lines.push(`  ... and ${p.skipped.length - 20} more`);
  }
  return lines.join('\n') + '\n';
}

/** 1234 -> "1,234"; 1234567 -> "1.2M". */
export function formatCount(n: number): string {
  return n >= 1_000_000 ? `${(n / 1_000_000).toFixed(1)}M` : n.toLocaleString('en-US');
}

/** 950 -> "950ms", 12345 -> "12.3s", 125000 -> "2m 5s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m ${s % 60}s`;
}
