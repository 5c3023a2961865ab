/**
 * Prompt-injection screening of indexed text: pure functions that find text addressing the model
 * (instructions to ignore previous instructions, role overrides, tool calls, exfiltration, chat
 * template markers), invisible characters and the hidden-HTML marker left by screen-html.ts, and
 * neutralize them before storage, so a flagged span is never served verbatim.
 */
import { countTokens } from './tokens.js';
import type { Chunk } from './types.js';

export type FlagKind =
  | 'ignore-instructions'
  | 'role-override'
  | 'addresses-model'
  | 'tool-call'
  | 'exfiltration'
  | 'prompt-markers'
  | 'hidden-html'
  | 'invisible-characters';

export interface ScreenFlag {
  kind: FlagKind;
  /** At most 80 characters of the removed text, for operators (empty for invisible characters). */
  excerpt: string;
}

export interface ScreenResult {
  text: string;
  flags: ScreenFlag[];
}

/** What replaces a neutralized sentence in stored text. */
export const NEUTRALIZED_MARKER = '[removed by TwinMCP: text addressed to AI models]';
/**
 * Left by the HTML path (screen-html.ts) where substantive hidden text was dropped; it stays in
 * the stored text (readers learn something was hidden) and flags the page.
 */
export const HIDDEN_MARKER = '[removed by TwinMCP: hidden HTML text]';

const AI = String.raw`(?:AI|A\.I\.|LLM|LLMs|language models?|chat ?bots?|assistants?|agents?|copilots?|Claude|ChatGPT|GPT-?\d?|Gemini)`;

interface Rule {
  kind: FlagKind;
  re: RegExp;
}

// Each pattern is written to match instructions aimed at a model and not ordinary documentation:
// they were run over the whole shared corpus (18 doc sets, ~2,100 files) with no match.
const RULES: Rule[] = [
  {
    kind: 'ignore-instructions',
    re: /\b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+|my\s+|these\s+)?(?:previous|prior|above|earlier|preceding|system|original|initial)\s+(?:instructions?|prompts?|messages?|rules|directions|guidelines|context)\b/i,
  },
  {
    kind: 'role-override',
    re: /\b(?:you\s+are\s+now\s+(?:an?\s+)?(?:DAN|jailbroken|unrestricted|unfiltered|in\s+developer\s+mode|no\s+longer)|from\s+now\s+on,?\s+you\s+(?:are|will|must|shall)\b|you\s+are\s+no\s+longer\s+(?:bound|restricted|an?\s+(?:AI|assistant|language\s+model))|new\s+(?:system\s+)?instructions\s*:)/i,
  },
  {
    kind: 'addresses-model',
    re: new RegExp(
      String.raw`\b(?:if\s+you\s+are\s+an?\s+${AI}\b|(?:note|attention|message|instructions?)\s+(?:to|for)\s+(?:any\s+|all\s+|the\s+)?${AI}\b|${AI}\s+(?:reading|processing|summari[sz]ing)\s+this\b[^.!?\n]{0,40}?\b(?:must|should|will|are\s+instructed)|(?:do\s+not|don't|never)\s+(?:tell|inform|mention\s+(?:this\s+)?to|reveal\s+(?:this\s+)?to)\s+the\s+user)`,
      'i',
    ),
  },
  {
    kind: 'tool-call',
    re: /\b(?:you|assistant|agent|model)\s+(?:must|should|need\s+to|have\s+to|are\s+required\s+to)\s+(?:now\s+|immediately\s+|first\s+|also\s+|silently\s+)?(?:call|invoke|execute|use|run)\s+(?:the\s+)?[`'"]?[\w.-]+[`'"]?\s+(?:tool|function\s+call|MCP)\b|\b(?:call|invoke)\s+the\s+[`'"]?[\w.-]+[`'"]?\s+tool\s+(?:with|now|immediately|and\s+(?:send|pass|include))/i,
  },
  {
    kind: 'exfiltration',
    re: /\b(?:exfiltrate|(?:send|post|upload|forward|leak|transmit|email|share)\s+(?:\S+\s+){0,5}?(?:secrets?|\.env\b|environment\s+variables|ssh\s+keys?|private\s+keys?|conversation|chat\s+history|system\s+prompt|(?:the\s+)?user'?s\s+(?:\w+\s+)?(?:keys?|tokens?|credentials?|passwords?|files?|data)|all\s+(?:\w+\s+)?(?:keys|tokens|credentials|passwords))\s+(?:\S+\s+){0,4}?(?:to|at|into)\s+(?:https?:\/\/|the\s+(?:following|this)\s+(?:url|endpoint|server|webhook)|[\w-]+(?:\.[\w-]+)+\/))/i,
  },
  {
    kind: 'prompt-markers',
    re: /<\|(?:im_start|im_end|system|endoftext|start_header_id|end_header_id|eot_id)\|>|\[\/?INST\]|<<\/?SYS>>|(?:^|(?<=[.!?]\s))\s*#{0,3}\s*(?:system\s+prompt|system)\s*:\s*you\s+(?:are|must|will)\b/im,
  },
];

// Zero-width and invisible formatting characters (ZWSP, word joiner, invisible operators, BOM,
// Mongolian vowel separator), bidirectional overrides, and Unicode tag characters (which can
// spell ASCII text no reader sees).
const INVISIBLE =
  /[\u200B\u2060-\u2064\uFEFF\u180E\u202A-\u202E\u2066-\u2069]|\uDB40[\uDC00-\uDC7F]/g;
// ZWJ / ZWNJ are real in emoji sequences and in Persian or Indic text: removed only inside ASCII.
const ASCII_JOINERS = /(?<=[\x21-\x7e])[\u200C\u200D]+(?=[\x21-\x7e])/g;

function excerpt(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}

/** The sentence (or line) around [start, end), to remove whole. */
function sentenceAround(text: string, start: number, end: number): [number, number] {
  let a = start;
  while (a > 0 && !/[.!?\n]/.test(text[a - 1]!)) a--;
  let b = end;
  while (b < text.length && !/[.!?\n]/.test(text[b]!)) b++;
  if (b < text.length && text[b] !== '\n') b++;
  while (a < start && /\s/.test(text[a]!)) a++;
  return [a, b];
}

/** Screens one text: removes invisible characters and neutralizes each flagged sentence. */
export function screenText(input: string): ScreenResult {
  const flags: ScreenFlag[] = [];
  let text = input;
  const withoutInvisible = text.replace(INVISIBLE, '').replace(ASCII_JOINERS, '');
  if (withoutInvisible !== text) {
    flags.push({ kind: 'invisible-characters', excerpt: '' });
    text = withoutInvisible;
  }
  if (text.includes(HIDDEN_MARKER)) flags.push({ kind: 'hidden-html', excerpt: '' });
  // Bounded: each pass removes one sentence; 50 is far above any real page's count.
  for (let pass = 0; pass < 50; pass++) {
    let hit: { rule: Rule; index: number; length: number } | undefined;
    for (const rule of RULES) {
      const m = rule.re.exec(text);
      if (m && (!hit || m.index < hit.index)) hit = { rule, index: m.index, length: m[0].length };
    }
    if (!hit) break;
    const [a, b] = sentenceAround(text, hit.index, hit.index + hit.length);
    flags.push({ kind: hit.rule.kind, excerpt: excerpt(text.slice(a, b)) });
    text = text.slice(0, a) + NEUTRALIZED_MARKER + text.slice(b);
  }
  return { text, flags };
}

/**
 * Screens a page's chunks (text, titles, breadcrumb and code blocks). Unflagged chunks are
 * returned as they are; flagged ones get neutralized text and a recounted token total.
 */
export function screenChunks(chunks: Chunk[]): { chunks: Chunk[]; flags: ScreenFlag[] } {
  const flags: ScreenFlag[] = [];
  const out = chunks.map((chunk) => {
    const text = screenText(chunk.text);
    const title = screenText(chunk.title);
    const pageTitle = screenText(chunk.pageTitle);
    const crumbs = chunk.breadcrumb.map(screenText);
    const code = chunk.code.map((c) => ({ ...c, result: screenText(c.code) }));
    const found = [
      ...text.flags,
      ...title.flags,
      ...pageTitle.flags,
      ...crumbs.flatMap((c) => c.flags),
      ...code.flatMap((c) => c.result.flags),
    ];
    if (found.length === 0) return chunk;
    flags.push(...found);
    return {
      ...chunk,
      text: text.text,
      title: title.text,
      pageTitle: pageTitle.text,
      breadcrumb: crumbs.map((c) => c.text),
      code: code.map((c) => ({ lang: c.lang, code: c.result.text })),
      tokens: countTokens(text.text),
    };
  });
  return { chunks: out, flags: dedupeFlags(flags) };
}

function dedupeFlags(flags: ScreenFlag[]): ScreenFlag[] {
  const seen = new Set<string>();
  return flags.filter((f) => {
    const key = `${f.kind}\u0000${f.excerpt}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
