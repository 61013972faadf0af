import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { postgresSchemaFrom } from './postgres-schema.ts';
import { MIGRATIONS_DIRS, SCHEMA_FILES } from './paths.ts';

const migrationNames = (dir: string) =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();

describe('the PostgreSQL schema and migrations', () => {
  it('swap the provider and client output and keep the model', () => {
    const source = [
      '// The source of truth.',
      '',
      'generator client {',
      '  provider = "prisma-client"',
      '  output   = "../packages/db/src/generated/sqlite"',
      '}',
      '',
      'datasource db {',
      '  provider = "sqlite"',
      '}',
      '',
      'model Host {',
      '  id String @id',
      '}',
      '',
    ].join('\n');
    const generated = postgresSchemaFrom(source);
    expect(generated).toMatch(/^\/\/ GENERATED from prisma\/schema\.prisma/);
    expect(generated).not.toContain('The source of truth');
    expect(generated).toContain('provider = "postgresql"');
    expect(generated).toContain('output   = "../../packages/db/src/generated/postgresql"');
    expect(generated).toContain('model Host {\n  id String @id\n}');
  });

  it('refuses a source it does not recognise rather than writing a wrong schema', () => {
    expect(() => postgresSchemaFrom('datasource db {\n  provider = "postgresql"\n}\n')).toThrow(
      /sqlite provider/,
    );
  });

  it('are in sync with prisma/schema.prisma (else run pnpm db:migrations:sync)', () => {
    const expected = postgresSchemaFrom(fs.readFileSync(SCHEMA_FILES.sqlite, 'utf8'));
    expect(fs.readFileSync(SCHEMA_FILES.postgresql, 'utf8')).toBe(expected);
    expect(migrationNames(MIGRATIONS_DIRS.postgresql)).toEqual(migrationNames(MIGRATIONS_DIRS.sqlite));
  });
});
