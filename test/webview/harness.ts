/**
 * Runs the built webview bundles in real Chromium, as VS Code hosts them: a page with the
 * extension's CSP (nonce scripts, no 'unsafe-inline'), `<div id="root">`, the bundle's CSS and
 * script, and an `acquireVsCodeApi()` that records what the webview posts and keeps its state.
 * Every CSP violation, console error and page error is collected so a test can require none.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { HostMessage, WebviewKind, WebviewMessage } from '../../shared/webview-protocol.js';
import { webviewBuildOptions } from '../../webview-ui/build-options.mjs';

/** Debian's chromium; override with CHROMIUM_PATH. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Launch flags that work on these machines (../shared/notes/vscode-host.md). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Skips the suite when Chromium is missing, except under CI=true where that is a failure. */
export function requireChromium(context: Mocha.Context): void {
  if (existsSync(CHROMIUM_PATH)) return;
  const message = `Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium, or run scripts/prereqs.sh)`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI=true requires it.`);
  console.warn(`    skipped: ${message}`);
  context.skip();
}

/** A VS Code Dark+ subset of the theme variables VS Code puts on the webview's `<html>`. */
const THEME_CSS = `:root {
  --vscode-font-family: system-ui, sans-serif; --vscode-font-size: 13px;
  --vscode-editor-font-family: monospace; --vscode-editor-font-size: 12px;
  --vscode-foreground: #cccccc; --vscode-editor-background: #1e1e1e;
  --vscode-sideBar-background: #181818; --vscode-focusBorder: #0078d4;
  --vscode-button-background: #0078d4; --vscode-button-foreground: #ffffff;
  --vscode-button-hoverBackground: #026ec1; --vscode-button-secondaryBackground: #313131;
  --vscode-button-secondaryForeground: #cccccc; --vscode-button-secondaryHoverBackground: #3c3c3c;
  --vscode-input-background: #313131; --vscode-input-foreground: #cccccc;
  --vscode-input-border: #3c3c3c; --vscode-textLink-foreground: #4daafc;
  --vscode-textLink-activeForeground: #4daafc; --vscode-textCodeBlock-background: #2b2b2b;
  --vscode-badge-background: #616161; --vscode-badge-foreground: #f8f8f8;
  --vscode-panel-border: #2b2b2b; --vscode-charts-blue: #3794ff;
  --vscode-charts-green: #89d185; --vscode-charts-purple: #b180d7;
  --vscode-progressBar-background: #0078d4; --vscode-editorWarning-foreground: #cca700;
  --vscode-inputValidation-errorBorder: #be1100; --vscode-inputValidation-errorBackground: #5a1d1d;
}`;

/** One webview page under test. */
export interface WebviewPage {
  page: Page;
  /** Sends a message from the "host", as `webview.postMessage` does. */
  send(message: HostMessage): Promise<void>;
  /** Everything the webview posted so far. */
  posted(): Promise<WebviewMessage[]>;
  /** Waits until the webview posted a message of `type`; returns the last such message. */
  waitForPosted<T extends WebviewMessage['type']>(
    type: T,
    count?: number,
  ): Promise<Extract<WebviewMessage, { type: T }>>;
  /** What the webview last passed to `setState`. */
  savedState(): Promise<unknown>;
  /** CSP violations, console errors and page errors seen so far. */
  problems(): Promise<string[]>;
  close(): Promise<void>;
}

export interface Harness {
  open(
    view: WebviewKind,
    options?: { state?: unknown; viewport?: { width: number; height: number } },
  ): Promise<WebviewPage>;
  close(): Promise<void>;
}

/** Builds the bundles into a temporary folder (never dist/, which other suites may be using). */
export async function buildBundles(): Promise<string> {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'twinmcp-webview-'));
  await build(webviewBuildOptions(outdir));
  return outdir;
}

function pageHtml(origin: string, view: WebviewKind, nonce: string, state: unknown): string {
  // The same policy the extension host sets (cspSource = this server's origin).
  const csp = [
    "default-src 'none'",
    `style-src ${origin}`,
    `script-src 'nonce-${nonce}'`,
    `img-src ${origin} https: data:`,
    `font-src ${origin}`,
  ].join('; ');
  const stateJson = JSON.stringify(state ?? null).replace(/</g, '\\u003c');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${origin}/theme.css">
<link rel="stylesheet" href="${origin}/dist/${view}.css">
<title>${view}</title></head>
<body><div id="root"></div>
<script nonce="${nonce}">
window.__posted = [];
window.__problems = [];
window.__state = ${stateJson};
document.addEventListener('securitypolicyviolation', (e) => {
  window.__problems.push('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI);
});
let acquired = false;
window.acquireVsCodeApi = () => {
  if (acquired) throw new Error('acquireVsCodeApi called twice');
  acquired = true;
  return {
    postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
    getState: () => window.__state,
    setState: (s) => { window.__state = JSON.parse(JSON.stringify(s)); },
  };
};
</script>
<script nonce="${nonce}" src="${origin}/dist/${view}.js"></script>
</body></html>`;
}

/** Starts the loopback server and Chromium. */
export async function startHarness(bundleDir: string): Promise<Harness> {
  const pages = new Map<string, string>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    void (async () => {
      const html = pages.get(url.pathname);
      if (html) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      } else if (url.pathname === '/favicon.ico') {
        res.writeHead(204).end();
      } else if (url.pathname === '/theme.css') {
        res.writeHead(200, { 'content-type': 'text/css' }).end(THEME_CSS);
      } else if (/^\/dist\/[a-z]+\.(js|css)$/.test(url.pathname)) {
        const body = await readFile(path.join(bundleDir, path.basename(url.pathname)));
        const type = url.pathname.endsWith('.js') ? 'text/javascript' : 'text/css';
        res.writeHead(200, { 'content-type': type }).end(body);
      } else {
        res.writeHead(404).end();
      }
    })().catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });

  return {
    async open(view, options = {}) {
      const nonce = randomBytes(16).toString('base64');
      const pagePath = `/${view}-${randomBytes(6).toString('hex')}.html`;
      pages.set(pagePath, pageHtml(origin, view, nonce, options.state));
      const context = await browser.newContext({
        viewport: options.viewport ?? { width: 420, height: 720 },
        colorScheme: 'dark',
      });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
      });
      page.on('response', (response) => {
        if (response.status() >= 400) problems.push(`HTTP ${response.status()} ${response.url()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      await page.goto(origin + pagePath);
      const handle: WebviewPage = {
        page,
        send: (message) => page.evaluate((m) => window.postMessage(m, '*'), message),
        posted: () => page.evaluate(() => (window as unknown as HarnessWindow).__posted),
        async waitForPosted(type, count = 1) {
          await page.waitForFunction(
            ([t, n]) =>
              (window as unknown as HarnessWindow).__posted.filter((m) => m.type === t).length >= n,
            [type, count] as const,
          );
          const all = await handle.posted();
          return all.filter((m) => m.type === type).at(-1) as Extract<
            WebviewMessage,
            { type: typeof type }
          >;
        },
        savedState: () => page.evaluate(() => (window as unknown as HarnessWindow).__state),
        async problems() {
          const inPage = await page.evaluate(() => (window as unknown as HarnessWindow).__problems);
          return [...problems, ...inPage];
        },
        close: () => context.close(),
      };
      await handle.waitForPosted('ready');
      return handle;
    },
    async close() {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(bundleDir, { recursive: true, force: true });
    },
  };
}

interface HarnessWindow {
  __posted: WebviewMessage[];
  __problems: string[];
  __state: unknown;
}
