import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { absolutePath, anyText, EnvError, oneOf, parseEnv, variable, wholeNumber } from './index.ts';

const schema = z.object({
  COUNT: variable(wholeNumber(1), 8),
  LIMIT: variable(wholeNumber(1, 10)),
  MODE: variable(oneOf({ on: true, off: false }), true),
  DIR: variable(absolutePath),
  NAME: variable(anyText),
  LIST: variable({
    allowed: 'words',
    parse: (text) => {
      if (text.includes('!')) throw new Error('"!" is not a word: use letters');
      return text.split(' ');
    },
  }),
});

const messageOf = (env: Record<string, string>) => {
  try {
    parseEnv(schema, env, { shown: { NAME: () => '***' } });
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    return (error as Error).message;
  }
  throw new Error('parsed');
};

describe('parseEnv', () => {
  it('gives the defaults for unset and empty variables', () => {
    const defaults = {
      COUNT: 8,
      LIMIT: undefined,
      MODE: true,
      DIR: undefined,
      NAME: undefined,
      LIST: undefined,
    };
    expect(parseEnv(schema, {})).toEqual(defaults);
    expect(parseEnv(schema, { COUNT: '', MODE: '', DIR: '' })).toEqual(defaults);
  });

  it('parses what is allowed', () => {
    expect(
      parseEnv(schema, {
        COUNT: '3',
        LIMIT: '10',
        MODE: 'off',
        DIR: '/x',
        NAME: 'n',
        LIST: 'a b',
        OTHER: '?',
      }),
    ).toEqual({ COUNT: 3, LIMIT: 10, MODE: false, DIR: '/x', NAME: 'n', LIST: ['a', 'b'] });
  });

  it.each([
    [{ COUNT: 'abc' }, 'COUNT="abc" is not valid: a whole number >= 1'],
    [{ COUNT: '0' }, 'COUNT="0" is not valid: a whole number >= 1'],
    [{ COUNT: '1.5' }, 'COUNT="1.5" is not valid: a whole number >= 1'],
    [{ COUNT: '1e3' }, 'COUNT="1e3" is not valid: a whole number >= 1'],
    [{ COUNT: ' 5' }, 'COUNT=" 5" is not valid: a whole number >= 1'],
    [{ LIMIT: '11' }, 'LIMIT="11" is not valid: a whole number from 1 to 10'],
    [{ MODE: 'yes' }, 'MODE="yes" is not valid: on or off'],
    [{ DIR: 'relative/dir' }, 'DIR="relative/dir" is not valid: an absolute path (starting with /)'],
    [{ LIST: 'a !' }, 'LIST="a !" is not valid: "!" is not a word: use letters'],
  ])('refuses %j naming the variable, its value and what is allowed', (env, message) => {
    expect(messageOf(env)).toBe(message);
  });

  it('names every bad variable, one a line, and shows values as told', () => {
    const strict = schema.extend({
      NAME: variable({ allowed: 'n', parse: (t) => (t === 'n' ? t : undefined) }),
    });
    expect(() =>
      parseEnv(strict, { COUNT: 'x', MODE: 'x', NAME: 'secret' }, { shown: { NAME: () => '***' } }),
    ).toThrow(
      'COUNT="x" is not valid: a whole number >= 1\nMODE="x" is not valid: on or off\nNAME="***" is not valid: n',
    );
  });

  it('says a variable a refinement needs is not set, and cuts long values', () => {
    const pair = z
      .object({ USER: variable(anyText), PASSWORD: variable(anyText) })
      .refine((e) => (e.USER === undefined) === (e.PASSWORD === undefined), {
        path: ['PASSWORD'],
        message: 'set USER and PASSWORD together',
      });
    expect(() => parseEnv(pair, { USER: 'u' })).toThrow(
      'PASSWORD is not set: set USER and PASSWORD together',
    );
    expect(messageOf({ COUNT: 'x'.repeat(300) })).toBe(
      `COUNT="${'x'.repeat(200)}..." is not valid: a whole number >= 1`,
    );
  });
});
