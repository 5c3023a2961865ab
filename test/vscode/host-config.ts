/**
 * What the launcher tells the in-host suite (a JSON file named by TWINMCP_VSCODE_TEST_CONFIG in
 * the extension host's environment) and what the suite writes back (results and timings).
 */

/** The environment variable holding the config file's path. */
export const CONFIG_ENV = 'TWINMCP_VSCODE_TEST_CONFIG';

export interface HostTestConfig {
  /** `all` runs every test; `bench` only activation and hovers (scripts/bench-extension.ts). */
  mode: 'all' | 'bench';
  serverUrl: string;
  apiKey: string;
  accountEmail: string;
  libraryId: string;
  /** The folder the VSIX was installed into (the extension must run from there). */
  installedPath: string;
  workspace: string;
  hoverFile: string;
  /** Zero-based position of an identifier imported from the locked package. */
  hoverPosition: { line: number; character: number };
  /** The stored library version the lockfile's version maps to, e.g. `v3`. */
  expectedVersion: string;
  /** Another stored version the hover must not show, e.g. `v4`. */
  otherVersion: string;
  warmHoverRuns: number;
  resultsFile: string;
}

export interface HostTestResult {
  title: string;
  state: 'passed' | 'failed' | 'pending';
  durationMs: number;
  error?: string;
}

export interface HostTestResults {
  tests: HostTestResult[];
  metrics: {
    activationMs?: number;
    firstHoverMs?: number;
    /** Our provider's own time for that first hover (without VS Code's TypeScript hover). */
    firstHoverProviderMs?: number;
    warmHoverMs?: number[];
    /** A hover on a local (not imported) identifier first: other providers getting ready. */
    hostWarmupHoverMs?: number;
    typescriptFeaturesOn?: boolean;
  };
  finished: boolean;
}
