// esbuild options for the webview bundles, shared by scripts/build.mjs and the Chromium tests
// (which build into a temporary folder so they never touch dist/ while other suites use it).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** One IIFE per webview (chat, account, lookup); each entry's CSS imports become `<name>.css`. */
export function webviewBuildOptions(outdir) {
  return {
    absWorkingDir: root,
    entryPoints: {
      chat: 'webview-ui/chat/main.ts',
      account: 'webview-ui/account/main.ts',
      lookup: 'webview-ui/lookup/main.ts',
    },
    outdir,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    // VS Code 1.101 runs Electron 35 (Chromium 134); code-server serves any current browser.
    target: ['chrome114', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: false,
    // marked (MIT) and DOMPurify (MPL-2.0 or Apache-2.0) ask for their notices in copies.
    legalComments: 'eof',
    logLevel: 'warning',
  };
}
