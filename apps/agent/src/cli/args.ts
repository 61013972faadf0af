import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EnvError } from '@binfleet/env';
import { AgentError } from '../errors.ts';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** node:util parseArgs with usage errors instead of TypeErrors. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** qemu-binfmt-conf.sh takes `yes|no` for its switches; anything else is a mistake worth reporting. */
export function yesNo(option: string, value: string | undefined, fallback = false): boolean {
  if (value === undefined) return fallback;
  if (value === 'yes') return true;
  if (value === 'no') return false;
  throw new UsageError(`${option} expects yes or no, got "${value}".`);
}

export function exitCodeOf(error: unknown): number {
  // A bad environment is a usage error too: the command was not run as it may be.
  if (error instanceof UsageError || error instanceof EnvError) return 2;
  if (error instanceof AgentError) return error.code === 'BUSY' ? 75 : 1;
  return 1;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `60` (seconds), `60s`, `1500ms`, `5m`, `1h`. */
export function parseDuration(option: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const ms = match ? Math.round(Number(match[1]) * UNITS[match[2] ?? 's']!) : NaN;
  if (!(ms >= 1 && ms <= 2_147_483_647)) {
    throw new UsageError(`${option} "${value}" is not a duration: e.g. 60s, 5m, 1500ms (at least 1ms).`);
  }
  return ms;
}
