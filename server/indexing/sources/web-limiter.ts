/** Per-host politeness for a crawl: at most N requests in flight and a minimum gap between starts. */

interface HostState {
  active: number;
  waiters: Array<() => void>;
  /** Earliest time the next request to this host may start (ms since epoch). */
  nextStart: number;
}

export class HostLimiter {
  private readonly hosts = new Map<string, HostState>();

  constructor(
    private readonly concurrency: number,
    private delayMs: number,
  ) {}

  /** Slows down to at least this gap (robots.txt Crawl-delay). */
  raiseDelay(ms: number): void {
    this.delayMs = Math.max(this.delayMs, ms);
  }

  async run<T>(host: string, task: () => Promise<T>): Promise<T> {
    const state = this.hosts.get(host) ?? { active: 0, waiters: [], nextStart: 0 };
    this.hosts.set(host, state);
    while (state.active >= Math.max(1, this.concurrency)) {
      await new Promise<void>((resolve) => state.waiters.push(resolve));
    }
    state.active++;
    const now = Date.now();
    const wait = state.nextStart - now;
    state.nextStart = Math.max(now, state.nextStart) + this.delayMs;
    try {
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      return await task();
    } finally {
      state.active--;
      state.waiters.shift()?.();
    }
  }
}
