import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// The schemas here are zod's mini API (a process that starts often, the agent's CLI, loads no more of
// zod than it uses: the full API's heap alone added ~10 ms to every start from its startup snapshot).
// They work in schemas of the full API too. The mini API sets no messages; these are the ones the full
// API sets, for every process that reads its environment.
z.config(en());

/**
 * Configuration that cannot be used: one line per bad variable, naming it, its value and what it may
 * be, e.g. `BINFLEET_RUNNER_CONCURRENCY="abc" is not valid: a whole number >= 1`. A process that gets
 * it stops instead of running on a default nobody chose.
 */
export class EnvError extends Error {
  override name = 'EnvError';
}

/** What one variable may be, and how its text becomes a value. */
export interface VariableSpec<T> {
  /** The end of the message `NAME="value" is not valid: ...`. */
  readonly allowed: string;
  /**
   * The value for the variable's text, or undefined when the text is not allowed. A thrown error says
   * more precisely what is wrong: its message replaces `allowed`.
   */
  readonly parse: (text: string) => T | undefined;
}

/**
 * A variable of a zod object schema (of either API). Unset and empty are the same (`VAR= command`
 * means "not set"), and give `fallback`.
 */
export function variable<T>(spec: VariableSpec<T>): z.ZodMiniType<T | undefined, string | undefined>;
export function variable<T>(spec: VariableSpec<T>, fallback: T): z.ZodMiniType<T, string | undefined>;
export function variable<T>(
  spec: VariableSpec<T>,
  fallback?: T,
): z.ZodMiniType<T | undefined, string | undefined> {
  return z.pipe(
    z.optional(z.string()),
    z.transform((text: string | undefined, ctx) => {
      if (text === undefined || text === '') return fallback;
      let value: T | undefined;
      let message = spec.allowed;
      try {
        value = spec.parse(text);
      } catch (error) {
        message = (error as Error).message;
      }
      if (value !== undefined) return value;
      ctx.issues.push({ code: 'custom', message, input: text });
      return z.NEVER;
    }),
  );
}

export const anyText: VariableSpec<string> = { allowed: 'any text', parse: (text) => text };

export const absolutePath: VariableSpec<string> = {
  allowed: 'an absolute path (starting with /)',
  parse: (text) => (text.startsWith('/') ? text : undefined),
};

/** Digits only: `1e3`, `1.5` and ` 5` are mistakes worth reporting, not numbers to guess at. */
export function wholeNumber(min: number, max?: number): VariableSpec<number> {
  return {
    allowed: max === undefined ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`,
    parse: (text) => {
      const n = /^\d+$/.test(text) ? Number(text) : NaN;
      return n >= min && (max === undefined || n <= max) ? n : undefined;
    },
  };
}

/** One of a few words, each standing for a value: `oneOf({ on: true, off: false })`. */
export function oneOf<T>(choices: Readonly<Record<string, T>>): VariableSpec<T> {
  const words = Object.keys(choices);
  return {
    allowed: `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`,
    parse: (text) => (Object.hasOwn(choices, text) ? choices[text] : undefined),
  };
}

export interface ParseEnvOptions {
  /** How to show a variable's value in the message, e.g. a URL without its password. */
  readonly shown?: Readonly<Record<string, (value: string) => string>>;
}

/** Longer values are cut in the message: it names the variable, it need not repeat a whole list. */
const SHOWN_CHARS = 200;

/**
 * The schema's output for `env`, or an EnvError naming every variable that is not valid. Issues of the
 * schema must have the variable's name as their path (object fields and refinements on the object
 * with `path: [NAME]` do).
 */
export function parseEnv<S extends z.core.$ZodType>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
  options: ParseEnvOptions = {},
): z.output<S> {
  const parsed = z.safeParse(schema, env);
  if (parsed.success) return parsed.data;
  throw new EnvError(parsed.error.issues.map((issue) => describe(issue, env, options)).join('\n'));
}

function describe(
  issue: z.core.$ZodIssue,
  env: Readonly<Record<string, string | undefined>>,
  options: ParseEnvOptions,
): string {
  const name = String(issue.path[0]);
  const value = env[name];
  if (value === undefined || value === '') return `${name} is not set: ${issue.message}`;
  const shown = options.shown?.[name]?.(value) ?? value;
  const cut = shown.length > SHOWN_CHARS ? `${shown.slice(0, SHOWN_CHARS)}...` : shown;
  return `${name}=${JSON.stringify(cut)} is not valid: ${issue.message}`;
}
