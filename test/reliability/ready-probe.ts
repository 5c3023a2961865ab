/**
 * Polls one API process's readiness endpoint (directly, not through haproxy) every 100 ms and
 * keeps the timeline, so a scenario can tell when it flipped to failing and back.
 */
import { sleep } from './processes.js';

interface Sample {
  at: number;
  /** HTTP status, or 0 when the request itself failed. */
  status: number;
}

export class ReadyProbe {
  private readonly samples: Sample[] = [];
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly base: string,
    readonly path: string,
  ) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        let status = 0;
        try {
          // 5 s, haproxy's check timeout: slower than that counts as not ready there too.
          const res = await fetch(`${this.base}${this.path}`, {
            signal: AbortSignal.timeout(5000),
          });
          status = res.status;
          await res.arrayBuffer();
        } catch {
          status = 0;
        }
        this.samples.push({ at: Date.now(), status });
        await sleep(100);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  sawFailureAfter(t: number): boolean {
    return this.samples.some((s) => s.at >= t && s.status !== 200);
  }

  /** When the first 200 at or after `t` arrived, if one did. */
  firstOkAfter(t: number): number | undefined {
    return this.samples.find((s) => s.at >= t && s.status === 200)?.at;
  }

  lastOk(): boolean {
    return this.samples.at(-1)?.status === 200;
  }

  /** Status changes relative to `t0`, e.g. `200 -> 503 @+120ms -> 200 @+2450ms`. */
  describe(t0: number): string {
    const parts: string[] = [];
    let last: number | undefined;
    for (const s of this.samples) {
      if (s.status === last) continue;
      parts.push(
        last === undefined
          ? String(s.status)
          : `${s.status} @${s.at - t0 >= 0 ? '+' : ''}${s.at - t0}ms`,
      );
      last = s.status;
    }
    return parts.join(' -> ');
  }
}
