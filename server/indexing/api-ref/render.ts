/**
 * API reference pages: one generated Markdown page per exported symbol, laid out so the chunker
 * stores one snippet per symbol with the breadcrumb [package, module, kind, symbol] — headings
 * h1-h3 carry no text of their own, h4 is the symbol, h5 the members of a big class.
 */
import type { SourcePage } from '../types.js';
import type { ApiKind, ApiMember, ApiSymbol } from './extract.js';
import { hasDoc, type ApiDoc } from './jsdoc.js';

const KIND_LABEL: Record<ApiKind, string> = {
  function: 'Function',
  class: 'Class',
  interface: 'Interface',
  type: 'Type alias',
  enum: 'Enum',
  const: 'Constant',
  variable: 'Variable',
  namespace: 'Namespace',
};

/** A fence longer than any backtick run inside, so template literal types cannot close it. */
function fence(code: string, lang = 'ts'): string {
  const longest = Math.max(2, ...[...code.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}${lang}\n${code}\n${ticks}`;
}

/**
 * JSDoc prose kept from breaking the page: headings become bold lines (they would start new
 * sections) and an unclosed fence is closed.
 */
function prose(text: string): string {
  const lines = text.split('\n').map((l) => l.replace(/^\s{0,3}(#{1,6})\s+(.*)$/, '**$2**'));
  const fences = lines.filter((l) => /^\s*(```|~~~)/.test(l)).length;
  if (fences % 2 === 1) lines.push('```');
  return lines.join('\n').trim();
}

function example(text: string): string {
  return /^\s*(```|~~~)/m.test(text) ? prose(text) : fence(text.trim());
}

function docSections(doc: ApiDoc): string[] {
  const out: string[] = [];
  if (doc.deprecated) out.push(`**Deprecated:** ${prose(doc.deprecated)}`);
  if (doc.summary) out.push(prose(doc.summary));
  if (doc.params.length) {
    out.push(
      [
        '**Parameters**',
        '',
        ...doc.params.map((p) => `- \`${p.name}\`${p.text ? `: ${prose(p.text)}` : ''}`),
      ].join('\n'),
    );
  }
  if (doc.returns) out.push(`**Returns:** ${prose(doc.returns)}`);
  for (const t of doc.throws) out.push(`**Throws:** ${prose(t)}`);
  if (doc.defaultValue) out.push(`**Default:** ${prose(doc.defaultValue)}`);
  if (doc.since) out.push(`**Since:** ${prose(doc.since)}`);
  for (const e of doc.examples) out.push(`**Example**\n\n${example(e)}`);
  if (doc.see.length) out.push(`**See:** ${doc.see.map(prose).join('; ')}`);
  return out;
}

function signatureBlock(signatures: string[], summaries: string[]): string {
  // Overloads with their own summaries keep them next to the signature, as an editor shows them.
  const distinct = new Set(summaries.filter(Boolean));
  const annotate = signatures.length > 1 && distinct.size > 1;
  const code = signatures
    .map((sig, i) => {
      const summary = summaries[i]?.split('\n')[0]?.replace(/\*\//g, '*\\/');
      return annotate && summary ? `/** ${summary} */\n${sig}` : sig;
    })
    .join('\n');
  return fence(code);
}

function memberLine(m: ApiMember): string {
  const short = m.name.slice(m.name.lastIndexOf('.') + 1);
  const summary = m.doc.deprecated ? `(deprecated) ${m.doc.summary}` : m.doc.summary;
  return `- \`${short}\`: ${prose(summary.split('\n')[0] ?? '')}`;
}

function memberSection(m: ApiMember): string {
  return [`##### ${m.name}`, ...docSections(m.doc), fence(m.signatures.join('\n'))].join('\n\n');
}

/** Page path for a symbol: `api/<module path>/<name>.md` (`index` for the package root). */
export function apiPagePath(symbol: ApiSymbol): string {
  const module = symbol.subpath === '.' ? 'index' : symbol.subpath.slice(2);
  const safeModule = module
    .split('/')
    .map((s) => s.replace(/[^\w.$-]/g, '_'))
    .join('/');
  const file = (symbol.title.includes('(default export)') ? 'default' : symbol.name).replace(
    /[^\w.$-]/g,
    '_',
  );
  return `api/${safeModule}/${file}.md`;
}

/** The Markdown page of one symbol. */
export function renderSymbolPage(packageName: string, symbol: ApiSymbol): SourcePage {
  const parts: string[] = [
    `# ${packageName}`,
    `## ${symbol.module}`,
    `### ${KIND_LABEL[symbol.kind]}`,
    `#### ${symbol.title}`,
    ...docSections(symbol.doc),
    signatureBlock(symbol.signatures, symbol.signatureSummaries),
  ];
  const documented = symbol.members.filter((m) => hasDoc(m.doc));
  if (!symbol.splitMembers && documented.length) {
    parts.push(['**Members**', '', ...documented.map(memberLine)].join('\n'));
  }
  const where = [`Import from \`${symbol.module}\``];
  if (symbol.aliases.length)
    where.push(`also exported as ${symbol.aliases.map((a) => `\`${a}\``).join(', ')}`);
  if (symbol.alsoIn.length)
    where.push(`also from ${symbol.alsoIn.map((m) => `\`${m}\``).join(', ')}`);
  if (!symbol.name.includes('.')) parts.push(`${where.join('; ')}.`);
  if (symbol.splitMembers) parts.push(...symbol.members.map(memberSection));
  return { path: apiPagePath(symbol), format: 'markdown', text: `${parts.join('\n\n')}\n` };
}
