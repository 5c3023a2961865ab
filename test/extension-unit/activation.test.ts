import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import type * as NodeHttp from 'node:http';
import { build } from 'esbuild';
import { fakeVscode } from './fake-vscode.js';

interface Manifest {
  activationEvents: string[];
  contributes: {
    commands: { command: string }[];
    configuration: { properties: Record<string, { scope?: string; default?: unknown }> };
    mcpServerDefinitionProviders: { id: string }[];
    views: Record<string, { id: string; type?: string }[]>;
  };
}

describe('extension activation (the bundle, with a stand-in vscode module)', () => {
  const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as Manifest;
  let bundle: string;

  before(async () => {
    // The same options as scripts/build.mjs, so the measured code is the shipped code.
    const out = await build({
      entryPoints: ['extension/extension.ts'],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      external: ['vscode'],
      minify: true,
      write: false,
      logLevel: 'silent',
    });
    bundle = out.outputFiles[0]!.text;
  });

  it('activates in well under 50 ms, registers every contributed command, and makes no request', async () => {
    const fake = fakeVscode(process.cwd());
    const load = (Module as unknown as { _load: (r: string, ...a: unknown[]) => unknown })._load;
    const mod = new Module(path.resolve('dist/extension/extension.cjs'));
    mod.filename = path.resolve('dist/extension/extension.cjs');
    mod.paths = (
      Module as unknown as { _nodeModulePaths: (d: string) => string[] }
    )._nodeModulePaths(process.cwd());
    (Module as unknown as { _load: unknown })._load = (request: string, ...rest: unknown[]) =>
      request === 'vscode' ? fake.api : load(request, ...rest);
    // The bundle reaches http through require(), i.e. the mutable CommonJS module object.
    const http = Module.createRequire(import.meta.url)('node:http') as typeof NodeHttp;
    const originalRequest = http.request;
    let requests = 0;
    (http as { request: unknown }).request = (...args: unknown[]) => {
      requests++;
      return (originalRequest as (...a: unknown[]) => unknown)(...args);
    };
    try {
      const t0 = performance.now();
      (mod as unknown as { _compile: (code: string, file: string) => void })._compile(
        bundle,
        mod.filename,
      );
      const loadMs = performance.now() - t0;
      const ext = mod.exports as { activate: (ctx: unknown) => void };
      const t1 = performance.now();
      ext.activate(fake.context);
      const activateMs = performance.now() - t1;
      console.log(
        `      bundle evaluated in ${loadMs.toFixed(1)} ms, activate() ${activateMs.toFixed(1)} ms`,
      );
      assert.ok(activateMs < 50, `activate() took ${activateMs} ms`);
      // Evaluating the bundle is the rest of VS Code's activation time; its wall time swings with
      // the machine's load (27-101 ms seen at load average 19), so the size is held instead:
      // 37 KB evaluates in ~2 ms warm, the lockfile parsers (225 KB) stay in lockfiles.cjs.
      assert.ok(bundle.length < 100_000, `extension.cjs grew to ${bundle.length} bytes`);
      assert.equal(typeof (await fake.commands.get('twinmcp.debug.activationMs')!()), 'number');

      const contributed = manifest.contributes.commands.map((c) => c.command).sort();
      for (const id of contributed)
        assert.ok(fake.commands.has(id), `command ${id} is contributed but not registered`);
      for (const id of [
        'twinmcp.chat.ask',
        'twinmcp.account.snapshot',
        'twinmcp.debug.activationMs',
        'twinmcp.openInChat',
        'twinmcp.openSource',
      ]) {
        assert.ok(fake.commands.has(id), id);
      }
      assert.deepEqual(fake.registered.sort(), ['authentication', 'hover', 'mcp', 'webviewView']);
      assert.equal(requests, 0, 'activation asked the server nothing');
    } finally {
      (Module as unknown as { _load: unknown })._load = load;
      (http as { request: unknown }).request = originalRequest;
      for (const d of fake.context.subscriptions as { dispose(): void }[]) d.dispose();
    }
  });

  it('contributes the settings, views and MCP provider the code uses', () => {
    const c = manifest.contributes;
    assert.equal(c.configuration.properties['twinmcp.serverUrl']?.scope, 'application');
    assert.equal(c.configuration.properties['twinmcp.hover.enabled']?.default, true);
    assert.deepEqual(
      c.mcpServerDefinitionProviders.map((p) => p.id),
      ['twinmcp.mcp'],
    );
    const views = Object.values(c.views).flat();
    assert.ok(views.some((v) => v.id === 'twinmcp.chat' && v.type === 'webview'));
  });
});
