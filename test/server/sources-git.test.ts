import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { devNull, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  gitSource,
  listGitTags,
  openGitCheckout,
  checkoutSource,
  githubBlobBase,
  parseGitUrl,
  type GitSourceOptions,
} from '../../server/indexing/sources/git.js';
import {
  loadRepoConfig,
  parseRepoConfig,
  planDocs,
} from '../../server/indexing/sources/repo-config.js';
import type { SourceEvent, SourcePage } from '../../server/indexing/types.js';

// The fixture repo is built with the same isolation the source uses: no user or system config.
function git(cwd: string, ...args: string[]): string {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
  return execFileSync(
    'git',
    [
      '-c',
      'user.name=Test',
      '-c',
      'user.email=test@example.com',
      '-c',
      'commit.gpgsign=false',
      '-c',
      'tag.gpgsign=false',
      ...args,
    ],
    {
      cwd,
      env: { ...env, GIT_CONFIG_GLOBAL: devNull, GIT_CONFIG_NOSYSTEM: '1' },
      encoding: 'utf8',
    },
  ).trim();
}

async function write(root: string, rel: string, content: string | Uint8Array): Promise<void> {
  await mkdir(dirname(join(root, rel)), { recursive: true });
  await writeFile(join(root, rel), content);
}

async function collect(source: AsyncGenerator<SourceEvent>): Promise<SourceEvent[]> {
  const events: SourceEvent[] = [];
  for await (const event of source) events.push(event);
  return events;
}

function pages(events: SourceEvent[]): SourcePage[] {
  return events.flatMap((e) => (e.kind === 'page' ? [e.page] : []));
}

function skips(events: SourceEvent[]): Map<string, string> {
  return new Map(events.flatMap((e) => (e.kind === 'skip' ? [[e.path, e.reason] as const] : [])));
}

describe('sources: git', function () {
  let base: string;
  let repo: string;
  let repoUrl: string;
  let workDir: string;
  let firstCommit: string;
  let secondCommit: string;
  let opts: GitSourceOptions;

  before(async function () {
    base = await mkdtemp(join(tmpdir(), 'twinmcp-gitsrc-'));
    repo = join(base, 'my-lib');
    workDir = join(base, 'work');
    await mkdir(repo);
    await mkdir(workDir);
    await write(base, 'outside-secret.md', '# SECRET\n');
    git(repo, 'init', '--quiet', '--initial-branch=main');
    await write(repo, 'README.md', '# My Lib\n\nVersion one.\n');
    await write(repo, 'docs/intro.md', '# Intro\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '--quiet', '-m', 'v1');
    git(repo, 'tag', '-a', 'v1.0.0', '-m', 'release 1.0.0');
    firstCommit = git(repo, 'rev-parse', 'HEAD');

    await write(repo, 'README.md', '# My Lib\n\nVersion two.\n');
    await write(repo, 'docs/guide/setup.mdx', '# Setup\n');
    await write(repo, 'docs/internal/secret.md', '# Internal\n');
    await write(repo, 'docs/CHANGELOG.md', '# Changes\n');
    await write(repo, 'docs/binary.md', new Uint8Array([0x23, 0x00, 0x01]));
    await write(repo, 'docs/latin1.md', new Uint8Array([0x63, 0x61, 0x66, 0xe9]));
    await write(repo, 'docs/huge.md', '# Huge\n' + 'a'.repeat(2 * 1024 * 1024));
    await write(repo, 'docs/logo.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
    await write(repo, 'src/index.js', 'export {};\n');
    await write(
      repo,
      'package.json',
      JSON.stringify({ name: '@acme/my-lib', description: 'A lib' }),
    );
    await write(
      repo,
      'context7.json',
      JSON.stringify({
        $schema: 'https://context7.com/schema/context7.json',
        projectTitle: 'My Lib',
        description: 'Docs for my lib',
        excludeFolders: ['internal'],
        excludeFiles: ['CHANGELOG.md'],
        rules: ['Always call init() first'],
        previousVersions: [{ tag: 'v1.0.0' }],
      }),
    );
    await symlink(join(base, 'outside-secret.md'), join(repo, 'docs/escape.md'));
    git(repo, 'add', '-A');
    git(repo, 'commit', '--quiet', '-m', 'v2');
    secondCommit = git(repo, 'rev-parse', 'HEAD');
    repoUrl = pathToFileURL(repo).href;
    opts = { allowLocal: true, workDir, timeoutMs: 30_000 };
  });

  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  async function workDirIsEmpty(): Promise<boolean> {
    return (await readdir(workDir)).length === 0;
  }

  it('clones over file:// and yields the detected docs folder plus README', async () => {
    const events = await collect(gitSource(repoUrl, opts));
    const paths = pages(events).map((p) => p.path);
    assert.deepEqual(paths, ['README.md', 'docs/guide/setup.mdx', 'docs/intro.md']);
    assert.match(pages(events)[0]?.text ?? '', /Version two/);
    assert.ok(pages(events).every((p) => p.url === undefined && !p.text.includes('SECRET')));

    const skipped = skips(events);
    assert.match(skipped.get('docs/binary.md') ?? '', /binary content/);
    assert.match(skipped.get('docs/latin1.md') ?? '', /not valid UTF-8/);
    assert.match(skipped.get('docs/huge.md') ?? '', /too large/);
    assert.match(skipped.get('docs/escape.md') ?? '', /outside the docs root/);
    assert.ok(!skipped.has('docs/internal/secret.md') && !skipped.has('docs/CHANGELOG.md'));
    assert.ok(!skipped.has('docs/logo.png'));
    assert.ok(await workDirIsEmpty(), 'temporary clone removed');
  });

  it('exposes metadata and config before pages, and cleans up on demand', async () => {
    const checkout = await openGitCheckout(repoUrl, opts);
    try {
      assert.equal(checkout.commit, secondCommit);
      assert.equal(checkout.configFile, 'context7.json');
      assert.equal(checkout.configWarning, undefined);
      assert.equal(checkout.plan.mode, 'detected');
      assert.deepEqual(checkout.docsRoots, ['docs', 'README.md']);
      assert.deepEqual(checkout.metadata, {
        repoName: 'my-lib',
        packageName: '@acme/my-lib',
        packageDescription: 'A lib',
        projectTitle: 'My Lib',
        description: 'Docs for my lib',
        rules: ['Always call init() first'],
        previousVersions: ['v1.0.0'],
      });
      const paths = pages(
        await collect(checkoutSource(checkout, { include: ['src', 'docs/intro.md'] })),
      ).map((p) => p.path);
      assert.deepEqual(paths, ['docs/intro.md']);
    } finally {
      await checkout.cleanup();
      await checkout.cleanup();
    }
    assert.ok(!existsSync(checkout.dir));
    assert.ok(await workDirIsEmpty());
  });

  it('checks out a tag and a commit sha', async () => {
    const tagged = pages(await collect(gitSource(repoUrl, { ...opts, ref: 'v1.0.0' })));
    assert.deepEqual(
      tagged.map((p) => p.path),
      ['README.md', 'docs/intro.md'],
    );
    assert.match(tagged[0]?.text ?? '', /Version one/);

    const checkout = await openGitCheckout(repoUrl, { ...opts, ref: firstCommit });
    try {
      assert.equal(checkout.commit, firstCommit);
      assert.equal(checkout.configFile, undefined);
    } finally {
      await checkout.cleanup();
    }
    assert.ok(await workDirIsEmpty());
  });

  it('lists tags with the peeled commit', async () => {
    assert.deepEqual(await listGitTags(repoUrl, { allowLocal: true }), [
      { name: 'v1.0.0', commit: firstCommit },
    ]);
  });

  it('removes the clone when the consumer stops early or the ref does not exist', async () => {
    for await (const event of gitSource(repoUrl, opts)) {
      assert.equal(event.kind, 'page');
      break;
    }
    assert.ok(await workDirIsEmpty());
    await assert.rejects(
      collect(gitSource(repoUrl, { ...opts, ref: 'no-such-branch' })),
      /git clone failed/,
    );
    assert.ok(await workDirIsEmpty());
  });

  it('refuses a repository over maxCheckoutBytes before checking it out', async () => {
    await assert.rejects(
      openGitCheckout(repoUrl, { ...opts, maxCheckoutBytes: 1024 * 1024 }),
      /over the 1048576-byte limit/,
    );
    assert.ok(await workDirIsEmpty());
  });

  it('refuses file:// URLs and local paths without allowLocal', async () => {
    await assert.rejects(
      collect(gitSource(repoUrl, { allowLocal: false, workDir })),
      /file:\/\/ URLs are refused.*allowLocal/,
    );
    await assert.rejects(
      collect(gitSource(repo, { allowLocal: false, workDir })),
      /Local repository paths are refused/,
    );
    await assert.rejects(
      listGitTags(repo, { allowLocal: false }),
      /Local repository paths are refused/,
    );
    assert.ok(await workDirIsEmpty());
  });

  it('accepts a local path with allowLocal, cloning it as file://', async () => {
    assert.equal(parseGitUrl(repo, true).url, repoUrl);
    const paths = pages(await collect(gitSource(repo, opts))).map((p) => p.path);
    assert.equal(paths.length, 3);
  });

  it('refuses transport helpers, option injection and other protocols without running git', async () => {
    const marker = join(base, 'pwned');
    const hostile = [
      `ext::sh -c touch% ${marker}`,
      `ext::sh -c "touch ${marker}"`,
      `--upload-pack=touch ${marker}`,
      `-u touch ${marker}`,
      'ssh://git@github.com/o/r.git',
      'git://github.com/o/r.git',
      'http://github.com/o/r.git',
      'git@github.com:o/r.git',
      'https://user:token@github.com/o/r.git',
      '',
    ];
    for (const url of hostile) {
      await assert.rejects(collect(gitSource(url, { ...opts, allowLocal: true })), Error, url);
      await assert.rejects(listGitTags(url, { allowLocal: true }), Error, url);
    }
    await assert.rejects(
      collect(gitSource(repoUrl, { ...opts, ref: '--upload-pack=evil' })),
      /Invalid git ref/,
    );
    assert.ok(!existsSync(marker));
    assert.ok(await workDirIsEmpty());
  });

  it('accepts https URLs and builds GitHub blob URLs for github.com repositories', () => {
    assert.deepEqual(parseGitUrl('https://github.com/fastify/fastify.git', false), {
      kind: 'https',
      url: 'https://github.com/fastify/fastify.git',
    });
    assert.equal(
      githubBlobBase('https://github.com/fastify/fastify.git', 'v5.0.0'),
      'https://github.com/fastify/fastify/blob/v5.0.0/',
    );
    assert.equal(
      githubBlobBase('https://github.com/o/r/', 'feature/a b'),
      'https://github.com/o/r/blob/feature/a%20b/',
    );
    assert.equal(githubBlobBase('https://gitlab.com/o/r.git', 'main'), undefined);
    assert.equal(githubBlobBase('https://github.com/o/r/tree/main', 'main'), undefined);
  });

  describe('repo config', () => {
    it('reports invalid JSON as a warning and falls back to defaults', async () => {
      const dir = join(base, 'cfg-invalid');
      await write(dir, 'context7.json', '{ "folders": [');
      const loaded = await loadRepoConfig(dir);
      assert.deepEqual(loaded.config, {});
      assert.match(loaded.warning ?? '', /^context7\.json: invalid JSON/);
    });

    it('keeps valid fields when another is malformed, and prefers twinmcp.json', async () => {
      const dir = join(base, 'cfg-partial');
      await write(
        dir,
        'twinmcp.json',
        JSON.stringify({ folders: ['guides'], rules: 'not a list', url: 'x' }),
      );
      await write(dir, 'context7.json', JSON.stringify({ folders: ['ignored'] }));
      const loaded = await loadRepoConfig(dir);
      assert.equal(loaded.file, 'twinmcp.json');
      assert.deepEqual(loaded.config, { folders: ['guides'] });
      assert.match(loaded.warning ?? '', /"rules"/);
      assert.match(parseRepoConfig([], 'x.json').warning ?? '', /expected a JSON object/);
    });

    it('refuses a symlinked config file', async () => {
      const dir = join(base, 'cfg-link');
      await mkdir(dir, { recursive: true });
      await symlink(join(base, 'outside-secret.md'), join(dir, 'context7.json'));
      const loaded = await loadRepoConfig(dir);
      assert.deepEqual(loaded.config, {});
      assert.match(loaded.warning ?? '', /not a regular file/);
    });

    it('plans config folders, detected folders, or the whole repo', async () => {
      const dir = join(base, 'plan');
      await write(dir, 'readme.rst', 'Readme\n');
      await write(dir, 'website/docs/a.md', '# A\n');
      await write(dir, 'website/blog/b.md', '# B\n');
      const configured = await planDocs(dir, {
        folders: ['./guides/', '../up'],
        excludeFolders: ['x'],
      });
      assert.deepEqual(
        {
          include: configured.include,
          exclude: configured.exclude,
          mode: configured.mode,
          rejected: configured.rejectedFolders,
        },
        { include: ['guides'], exclude: ['x'], mode: 'config', rejected: ['../up'] },
      );
      const detected = await planDocs(dir, {});
      assert.deepEqual(detected.include, ['website/docs', 'readme.rst']);
      assert.equal(detected.mode, 'detected');
      const bare = join(base, 'bare');
      await write(bare, 'guide.md', '# Guide\n');
      const whole = await planDocs(bare, { excludeFolders: ['scripts'] });
      assert.equal(whole.mode, 'whole-repo');
      assert.deepEqual(whole.include, []);
      assert.ok(whole.exclude.includes('tests') && whole.exclude.includes('scripts'));
      assert.ok(!whole.exclude.includes('examples'));
    });
  });
});
