/**
 * The backstop of a graceful shutdown: in-flight requests, released jobs and a closing database
 * get `timeoutMs`; past it the process exits anyway (code 1), before an orchestrator's SIGKILL
 * (Kubernetes sends it 30 s after SIGTERM by default) would cut it off mid-write.
 */

export interface ShutdownGuard {
  /** The shutdown finished in time. */
  done(): void;
}

/** Starts the clock; `onTimeout` runs once if `done()` is not called within `timeoutMs`. */
export function shutdownGuard(timeoutMs: number, onTimeout: () => void): ShutdownGuard {
  // unref: the timer alone must not keep a process alive that has finished shutting down.
  const timer = setTimeout(onTimeout, timeoutMs);
  timer.unref();
  return { done: () => clearTimeout(timer) };
}
