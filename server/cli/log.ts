/** A minimal leveled logger for the CLI and the engine: stderr, so stdout stays parseable. */
import type { LogLevel } from '../config.js';

export interface Log {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

const RANK: Record<LogLevel, number> = {
  silent: 0,
  fatal: 1,
  error: 2,
  warn: 3,
  info: 4,
  debug: 5,
  trace: 6,
};

/** Writes messages at or above `level` to `write`, prefixed with their level. */
export function createLog(level: LogLevel, write: (line: string) => void): Log {
  const at = (name: 'error' | 'warn' | 'info' | 'debug') => (message: string) => {
    if (RANK[name] <= RANK[level]) write(`${name}: ${message}\n`);
  };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}
