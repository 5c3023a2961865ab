import type { BuildOptions } from 'esbuild';

/** One IIFE per webview (chat, account, lookup); each entry's CSS imports become `<name>.css`. */
export function webviewBuildOptions(outdir: string): BuildOptions;
