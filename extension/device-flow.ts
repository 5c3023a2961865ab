/**
 * The device authorization grant (RFC 8628) as a client: ask for a code pair, let the user approve
 * it in a browser, poll the token endpoint honouring `interval` and `slow_down` until a key comes
 * back, the code expires, the user denies it or the caller cancels. No vscode import (unit-tested).
 */
import { ApiError, type ServerClient } from './client.js';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** Sent as `client_id`; the server names the key it issues after it ("Device sign-in (...)"). */
export const DEVICE_CLIENT_ID = 'VS Code';

export interface DeviceCode {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  expires_in: number;
  interval: number;
}

export interface PollOptions {
  signal: AbortSignal;
  /** Waits `ms` (tests pass a fast clock); must reject or resolve early when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  now?: () => number;
}

/** RFC 8628 §3.5: a slow_down adds 5 seconds to the polling interval for good. */
const SLOW_DOWN_STEP_S = 5;
// §3.2: when the server omits `interval`, clients use 5 seconds.
const DEFAULT_INTERVAL_S = 5;

export async function requestDeviceCode(client: ServerClient): Promise<DeviceCode> {
  const code = await client.json<DeviceCode>('/api/v1/auth/device/code', {
    method: 'POST',
    body: { client_id: DEVICE_CLIENT_ID, scope: 'docs' },
    key: '',
  });
  if (!code.device_code || !code.user_code || !code.verification_uri) {
    throw new ApiError('The server sent an incomplete device code answer', 200, 'bad_response');
  }
  return code;
}

/** Polls until the key is issued; throws ApiError (`expired_token`, `access_denied`, `cancelled`). */
export async function pollForKey(
  client: ServerClient,
  code: DeviceCode,
  opts: PollOptions,
): Promise<string> {
  const sleep = opts.sleep ?? abortableSleep;
  const now = opts.now ?? Date.now;
  const deadline = now() + code.expires_in * 1000;
  let interval = code.interval > 0 ? code.interval : DEFAULT_INTERVAL_S;
  for (;;) {
    await sleep(interval * 1000, opts.signal);
    if (opts.signal.aborted) throw new ApiError('Sign-in cancelled', 0, 'cancelled');
    if (now() >= deadline)
      throw new ApiError('The sign-in code expired; start again', 400, 'expired_token');
    try {
      const token = await client.json<{ access_token?: string }>('/api/v1/auth/device/token', {
        method: 'POST',
        body: { grant_type: DEVICE_GRANT, device_code: code.device_code },
        key: '',
        signal: opts.signal,
      });
      if (!token.access_token) throw new ApiError('The server issued no key', 200, 'bad_response');
      return token.access_token;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.code === 'authorization_pending') continue;
      if (err.code === 'slow_down') {
        interval += SLOW_DOWN_STEP_S;
        continue;
      }
      // A dropped connection is worth another poll; the code stays valid until it expires.
      if (err.code === 'network') continue;
      throw err;
    }
  }
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
