/** JSDoc of one declaration, as plain pieces a page can lay out. */
import ts from 'typescript';

export interface ApiDoc {
  summary: string;
  params: { name: string; text: string }[];
  returns?: string;
  deprecated?: string;
  throws: string[];
  examples: string[];
  see: string[];
  since?: string;
  defaultValue?: string;
}

export function emptyDoc(): ApiDoc {
  return { summary: '', params: [], throws: [], examples: [], see: [] };
}

function text(comment: string | ts.NodeArray<ts.JSDocComment> | undefined): string {
  return (ts.getTextOfJSDocComment(comment) ?? '').trim();
}

/** The JSDoc written right above `node` (the nearest block wins, as editors show it). */
export function docOf(node: ts.Node): ApiDoc {
  const doc = emptyDoc();
  const blocks = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const block = blocks.at(-1);
  if (!block) return doc;
  doc.summary = text(block.comment);
  for (const tag of block.tags ?? []) {
    const name = tag.tagName.text;
    const body = text(tag.comment);
    if (ts.isJSDocParameterTag(tag)) {
      doc.params.push({ name: tag.name.getText(), text: body.replace(/^-\s*/, '') });
    } else if (name === 'returns' || name === 'return') {
      doc.returns = body.replace(/^-\s*/, '');
    } else if (name === 'deprecated') {
      doc.deprecated = body || 'Deprecated.';
    } else if (name === 'throws' || name === 'throw' || name === 'exception') {
      // `@throws {TypeError} when...`: TypeScript keeps the braces' type apart from the comment.
      const typeText =
        'typeExpression' in tag && tag.typeExpression
          ? `{${(tag.typeExpression as ts.JSDocTypeExpression).type.getText()}} `
          : '';
      doc.throws.push(`${typeText}${body}`.trim());
    } else if (name === 'example') {
      if (body) doc.examples.push(body);
    } else if (name === 'see') {
      const target = ts.isJSDocSeeTag(tag) && tag.name ? tag.name.getText() : '';
      doc.see.push(`${target} ${body}`.trim());
    } else if (name === 'since') {
      doc.since = body;
    } else if (name === 'default' || name === 'defaultValue') {
      doc.defaultValue = body;
    }
  }
  return doc;
}

/** True when a doc says anything at all. */
export function hasDoc(doc: ApiDoc): boolean {
  return (
    doc.summary !== '' ||
    doc.params.length > 0 ||
    doc.returns !== undefined ||
    doc.deprecated !== undefined ||
    doc.examples.length > 0 ||
    doc.throws.length > 0
  );
}

/** Combines the docs of a symbol's declarations (overloads, merged interfaces): first text wins. */
export function mergeDocs(docs: ApiDoc[]): ApiDoc {
  const out = emptyDoc();
  for (const d of docs) {
    out.summary ||= d.summary;
    for (const p of d.params) if (!out.params.some((q) => q.name === p.name)) out.params.push(p);
    out.returns ??= d.returns;
    out.deprecated ??= d.deprecated;
    out.since ??= d.since;
    out.defaultValue ??= d.defaultValue;
    for (const t of d.throws) if (!out.throws.includes(t)) out.throws.push(t);
    for (const e of d.examples) if (!out.examples.includes(e)) out.examples.push(e);
    for (const s of d.see) if (!out.see.includes(s)) out.see.push(s);
  }
  return out;
}
