/** The Context7 text layouts (../shared/notes/mcp-contract.md), so agents' prompts work unchanged. */
import type { SearchResult, Snippet } from '../../shared/api.js';

export const SNIPPET_SEPARATOR = '\n\n--------------------------------\n\n';

export function formatSnippet(s: Snippet): string {
  return `### ${s.title}\n\nSource: ${s.source}\n\n${s.content.trim()}`;
}

export function formatSnippets(snippets: Snippet[]): string {
  return snippets.map(formatSnippet).join(SNIPPET_SEPARATOR);
}

function reputation(trust: number): string {
  return trust >= 7 ? 'High' : trust >= 4 ? 'Medium' : 'Low';
}

export function formatLibraries(results: SearchResult[]): string {
  if (results.length === 0) return 'No libraries found matching your query.';
  const blocks = results.map((r) => {
    const lines = [
      `- Title: ${r.title}`,
      `- Context7-compatible library ID: ${r.id}`,
      r.description ? `- Description: ${r.description}` : '',
      `- Code Snippets: ${r.totalSnippets}`,
      `- Source Reputation: ${reputation(r.trustScore)}`,
      r.versions.length ? `- Versions: ${r.versions.join(', ')}` : '',
    ];
    return lines.filter(Boolean).join('\n');
  });
  return `Available Libraries:\n\n${blocks.join('\n----------\n')}`;
}

/** The first sentences of a snippet's prose: the "one or two sentence description". */
export function proseDescription(markdown: string): string {
  const prose = markdown
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
  const sentences = prose.match(/[^.!?]+[.!?]+(?=\s|$)/g) ?? [prose];
  return sentences.slice(0, 2).join(' ').trim().slice(0, 400);
}
