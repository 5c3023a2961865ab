/// <reference lib="dom" />
/**
 * The one module that calls `acquireVsCodeApi()`: a typed messenger over it, so views post only
 * `WebviewMessage`s and receive only `HostMessage`s (tests define `acquireVsCodeApi` themselves).
 */
import type { HostMessage, WebviewMessage } from '../../shared/webview-protocol.js';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

/** Typed access to the host: messages both ways and the state VS Code keeps while hidden. */
export interface Messenger<S> {
  post(message: WebviewMessage): void;
  onMessage(handler: (message: HostMessage) => void): void;
  getState(): S | undefined;
  setState(state: S): void;
}

let api: VsCodeApi | undefined;

/** `acquireVsCodeApi` may be called once per page, so the api object is kept. */
export function createMessenger<S>(): Messenger<S> {
  api ??= acquireVsCodeApi();
  const vscode = api;
  return {
    post: (message) => vscode.postMessage(message),
    onMessage(handler) {
      window.addEventListener('message', (event: MessageEvent<unknown>) => {
        const data = event.data;
        if (
          typeof data === 'object' &&
          data !== null &&
          typeof (data as HostMessage).type === 'string'
        ) {
          handler(data as HostMessage);
        }
      });
    },
    getState: () => (vscode.getState() ?? undefined) as S | undefined,
    setState: (state) => vscode.setState(state),
  };
}

/** Ends an exhaustive switch: a new message type the view does not handle is a compile error. */
export function assertNever(value: never): void {
  // Messages of a newer host are ignored at run time rather than breaking the view.
  console.warn('unhandled message', value);
}
