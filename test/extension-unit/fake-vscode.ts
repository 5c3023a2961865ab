/**
 * Just enough of the `vscode` module for the extension's activate() to run in plain Node: records
 * registrations so tests can check them against package.json. Not a host: nothing renders.
 */
export interface FakeVscode {
  api: Record<string, unknown>;
  commands: Map<string, (...args: unknown[]) => unknown>;
  registered: string[];
  context: Record<string, unknown>;
  secrets: Map<string, string>;
  config: Record<string, unknown>;
}

class EventEmitter<T> {
  private listeners: ((e: T) => void)[] = [];
  event = (listener: (e: T) => void) => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(e: T) {
    for (const l of this.listeners) l(e);
  }
  dispose() {
    this.listeners = [];
  }
}

export function fakeVscode(extensionPath: string): FakeVscode {
  const commands = new Map<string, (...args: unknown[]) => unknown>();
  const registered: string[] = [];
  const secrets = new Map<string, string>();
  const config: Record<string, unknown> = { serverUrl: 'http://127.0.0.1:9' };
  const secretsChanged = new EventEmitter<{ key: string }>();
  const disposable = { dispose() {} };
  const record = (what: string) => () => {
    registered.push(what);
    return disposable;
  };
  class Uri {
    constructor(readonly fsPath: string) {}
    static file = (p: string) => new Uri(p);
    static parse = (p: string) => new Uri(p);
    static joinPath = (u: Uri, ...parts: string[]) => new Uri([u.fsPath, ...parts].join('/'));
    toString() {
      return this.fsPath;
    }
  }
  class McpHttpServerDefinition {
    constructor(
      readonly label: string,
      readonly uri: Uri,
      public headers: Record<string, string> = {},
      readonly version?: string,
    ) {}
  }
  const memento = () => {
    const m = new Map<string, unknown>();
    return {
      get: (k: string, d?: unknown) => (m.has(k) ? m.get(k) : d),
      update: async (k: string, v: unknown) => void m.set(k, v),
    };
  };
  const api = {
    EventEmitter,
    Uri,
    McpHttpServerDefinition,
    StatusBarAlignment: { Left: 1, Right: 2 },
    ProgressLocation: { Notification: 15 },
    ViewColumn: { Active: -1, Beside: -2 },
    commands: {
      registerCommand: (id: string, fn: (...args: unknown[]) => unknown) => {
        commands.set(id, fn);
        return disposable;
      },
      executeCommand: async (id: string, ...args: unknown[]) => commands.get(id)?.(...args),
    },
    workspace: {
      getConfiguration: () => ({ get: (k: string, d?: unknown) => (k in config ? config[k] : d) }),
      onDidChangeConfiguration: () => disposable,
      workspaceFolders: undefined,
    },
    window: {
      createStatusBarItem: () => ({ show() {}, hide() {}, dispose() {}, text: '', tooltip: '' }),
      registerWebviewViewProvider: record('webviewView'),
      showInformationMessage: async () => undefined,
      showErrorMessage: async () => undefined,
      activeTextEditor: undefined,
      onDidChangeActiveTextEditor: () => ({ dispose() {} }),
    },
    authentication: { registerAuthenticationProvider: record('authentication') },
    lm: { registerMcpServerDefinitionProvider: record('mcp') },
    languages: { registerHoverProvider: record('hover') },
    env: { isTelemetryEnabled: false, clipboard: { writeText: async () => {} } },
  };
  const context = {
    subscriptions: [] as { dispose(): void }[],
    extensionUri: new Uri(extensionPath),
    extension: { packageJSON: { version: '0.0.0' } },
    globalState: memento(),
    workspaceState: memento(),
    secrets: {
      get: async (k: string) => secrets.get(k),
      store: async (k: string, v: string) => {
        secrets.set(k, v);
        secretsChanged.fire({ key: k });
      },
      delete: async (k: string) => {
        secrets.delete(k);
        secretsChanged.fire({ key: k });
      },
      onDidChange: secretsChanged.event,
    },
  };
  return { api, commands, registered, context, secrets, config };
}
