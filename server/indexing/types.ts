/**
 * What a source yields: a page to index, a file it passed over and why, or a page proven
 * unchanged since the stored version `versionId` (a website's HTTP 304), which the pipeline copies
 * from that version instead of parsing it again.
 */
export type SourceEvent =
  | { kind: 'page'; page: SourcePage }
  | { kind: 'skip'; path: string; reason: string }
  | { kind: 'unchanged'; path: string; url?: string; versionId: number };

export type PageFormat = 'markdown' | 'mdx' | 'html' | 'text' | 'rst';

export interface SourcePage {
  /** Path relative to the source root, with forward slashes (e.g. `Reference/Hooks.md`). */
  path: string;
  /** Public URL of the page when known (website or git host); anchors are appended per chunk. */
  url?: string;
  format: PageFormat;
  /** Decoded UTF-8 text of the page. */
  text: string;
  /** HTTP validators of a fetched page, stored for conditional re-fetches. */
  etag?: string;
  lastModified?: string;
  /** In-scope links found on the page (websites), stored as the crawl checkpoint of a resume. */
  links?: string[];
}

export interface CodeBlock {
  lang: string;
  code: string;
}

/** A bounded piece of one page, following its headings. */
export interface Chunk {
  /** The page path it came from (same as SourcePage.path). */
  path: string;
  /** Page title (front matter `title`, first h1, or file name). */
  pageTitle: string;
  /** Nearest heading text above the chunk (the page title when before any heading), plain text. */
  title: string;
  /** Heading trail from the page title down to `title`, plain text. */
  breadcrumb: string[];
  /** Anchor (slug) of the nearest heading, without `#`; empty when none. */
  anchor: string;
  /** Markdown text of the chunk: prose and code fences, in document order. */
  text: string;
  /** The code fences inside `text`. */
  code: CodeBlock[];
  /** o200k tokens of `text`. */
  tokens: number;
  /** Position of the chunk in its page, from 0. */
  ordinal: number;
}
