import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACCESS, procedureTypes, renderAccessTable } from './access-table.ts';

const DOC = join(resolve(import.meta.dirname, '../../../../..'), 'docs/security.md');
const START = '<!-- access-table:start -->';
const END = '<!-- access-table:end -->';

/** A markdown table's cells, whatever padding prettier gave it. */
const cells = (table: string) =>
  table
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|[\s|:-]+\|$/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );

describe('the access table', () => {
  it('has a row for every procedure of the router, and no row without a procedure', () => {
    expect(Object.keys(ACCESS).sort()).toEqual(Object.keys(procedureTypes()).sort());
  });

  it('is what docs/security.md shows (BINFLEET_WRITE_DOCS=1 rewrites it)', () => {
    const doc = readFileSync(DOC, 'utf8');
    const [before, rest] = doc.split(START);
    const [shown, after] = (rest ?? '').split(END);
    if (process.env.BINFLEET_WRITE_DOCS === '1' && after !== undefined) {
      writeFileSync(DOC, `${before}${START}\n${renderAccessTable()}\n${END}${after}`);
      return;
    }
    expect(cells(shown ?? '')).toEqual(cells(renderAccessTable()));
  });
});
