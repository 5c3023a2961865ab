/** Decides which folders and files a walk leaves out; paths are relative with forward slashes. */
export interface ExcludeMatcher {
  /** True when the folder at `relPath` (and so everything under it) is excluded. */
  folder(relPath: string): boolean;
  /** True when the file at `relPath` is excluded. */
  file(relPath: string): boolean;
}

const GLOB_CHARS = /[*?[{]/;

/**
 * Translates a glob to an anchored RegExp: `**` spans folders, `*` and `?` stay within one
 * segment, `[...]` is a character class and `{a,b}` an alternation.
 */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  let braceDepth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob.charAt(i);
    if (c === '*') {
      if (glob.charAt(i + 1) === '*') {
        // `**/` also matches zero folders, so `**/x.md` matches a root-level `x.md`.
        const slash = glob.charAt(i + 2) === '/';
        out += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) {
        out += '\\[';
      } else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        out += '[' + (body.startsWith('!') ? '^' + body.slice(1) : body) + ']';
        i = end;
      }
    } else if (c === '{') {
      braceDepth++;
      out += '(?:';
    } else if (c === '}' && braceDepth > 0) {
      braceDepth--;
      out += ')';
    } else if (c === ',' && braceDepth > 0) {
      out += '|';
    } else {
      out += c.replace(/[.+^$()|\\\]}]/g, '\\$&');
    }
  }
  // An unbalanced `{` would make an invalid RegExp; close it rather than throw on user config.
  out += ')'.repeat(braceDepth);
  return new RegExp('^' + out + '$');
}

type FolderRule = (relPath: string, name: string) => boolean;

function compileFolderPattern(raw: string): { folder: FolderRule; file?: FolderRule } | undefined {
  let pattern = raw.trim().replace(/\\/g, '/').replace(/\/+$/, '');
  if (pattern === '' || pattern === '.' || pattern === './') return undefined;
  const rootOnly = pattern.startsWith('./');
  if (rootOnly) pattern = pattern.slice(2);
  pattern = pattern.replace(/^\/+/, '');
  if (pattern === '') return undefined;

  if (GLOB_CHARS.test(pattern)) {
    const re = globToRegExp(pattern);
    // Like .gitignore: a slash-free glob matches a name at any depth (unless `./`-anchored).
    const rule: FolderRule =
      pattern.includes('/') || rootOnly
        ? (relPath) => re.test(relPath)
        : (_relPath, name) => re.test(name);
    return { folder: rule, file: rule };
  }
  if (rootOnly || pattern.includes('/')) return { folder: (relPath) => relPath === pattern };
  return { folder: (_relPath, name) => name === pattern };
}

function baseName(relPath: string): string {
  return relPath.slice(relPath.lastIndexOf('/') + 1);
}

/**
 * Builds a matcher from Context7-style `excludeFolders` patterns and `excludeFiles` names (see
 * {@link SourceOptions.exclude}). A folder matcher checks only the folder itself: callers prune
 * the walk there, so its descendants are never visited.
 */
export function compileExcludes(
  folderPatterns: readonly string[] = [],
  filePatterns: readonly string[] = [],
): ExcludeMatcher {
  const folderRules: FolderRule[] = [];
  const fileRules: FolderRule[] = [];
  for (const raw of folderPatterns) {
    const compiled = compileFolderPattern(raw);
    if (!compiled) continue;
    folderRules.push(compiled.folder);
    if (compiled.file) fileRules.push(compiled.file);
  }
  for (const raw of filePatterns) {
    const name = raw.trim();
    if (name === '') continue;
    if (GLOB_CHARS.test(name)) {
      const re = globToRegExp(name);
      fileRules.push((_relPath, base) => re.test(base));
    } else {
      fileRules.push((_relPath, base) => base === name);
    }
  }
  return {
    folder: (relPath) => folderRules.some((rule) => rule(relPath, baseName(relPath))),
    file: (relPath) => fileRules.some((rule) => rule(relPath, baseName(relPath))),
  };
}
