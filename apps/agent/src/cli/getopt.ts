import type { ParseArgsConfig } from 'node:util';
import { parse, UsageError } from './args.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Options as GNU getopt (qemu-binfmt-conf.sh's parser) takes them, then parsed like `parse`: an
 * option's value is the next word whatever it looks like (`-F -static`), or glued on (`-Q/usr/bin`,
 * `-pyes`, `--qemu-path=/usr/bin`); short switches cluster (`-dh`); a long option may be shortened
 * to any unambiguous prefix (`--persist yes`); words that are no option are operands, wherever they
 * stand; `--` ends the options.
 */
export function parseGetopt<T extends Options>(argv: readonly string[], options: T) {
  const longNames = Object.keys(options);
  const byShort = new Map(
    Object.entries(options).flatMap(([name, o]) => (o.short ? [[o.short, name] as const] : [])),
  );
  const takesValue = (name: string) => options[name]!.type === 'string';
  const words: string[] = [];
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const valueAfter = (option: string): string => {
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`Option ${option} needs a value. See --help.`);
      return value;
    };
    if (word === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const given = word.slice(2, eq < 0 ? undefined : eq);
      const name = resolveLong(given, longNames);
      if (name === undefined) {
        words.push(word);
      } else if (!takesValue(name)) {
        words.push(eq < 0 ? `--${name}` : word.replace(`--${given}`, `--${name}`));
      } else {
        words.push(`--${name}=${eq < 0 ? valueAfter(`--${name}`) : word.slice(eq + 1)}`);
      }
      continue;
    }
    if (word.startsWith('-') && word.length > 1) {
      for (let c = 1; c < word.length; c++) {
        const name = byShort.get(word[c]!);
        if (name === undefined) {
          words.push(`-${word[c]}`);
        } else if (!takesValue(name)) {
          words.push(`--${name}`);
        } else {
          const glued = word.slice(c + 1);
          words.push(`--${name}=${glued !== '' ? glued : valueAfter(`-${word[c]}`)}`);
          break;
        }
      }
      continue;
    }
    operands.push(word);
  }
  return parse([...words, '--', ...operands], options);
}

/** The option a long name means: itself, or the one option it is a prefix of. */
function resolveLong(given: string, names: readonly string[]): string | undefined {
  if (names.includes(given)) return given;
  const candidates = names.filter((n) => n.startsWith(given));
  if (candidates.length > 1) {
    throw new UsageError(
      `Option --${given} is ambiguous: it could be ${candidates.map((n) => `--${n}`).join(', ')}.`,
    );
  }
  return candidates[0];
}
