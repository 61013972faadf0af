const GENERATED_HEADER =
  '// GENERATED from prisma/schema.prisma by `pnpm db:migrations:sync`: do not edit, edit that file.\n';

/**
 * prisma/postgresql/schema.prisma from prisma/schema.prisma: the same model with the datasource
 * provider and the client's output folder swapped (the source's header comment is replaced).
 */
export function postgresSchemaFrom(sqliteSchema: string): string {
  let swaps = 0;
  const swapped = sqliteSchema
    .replace(/^(?:\/\/.*\n)+\n?/, '')
    .replace(
      /(datasource\s+\w+\s*\{[^}]*?provider\s*=\s*)"sqlite"/,
      (_, head: string) => (swaps++, `${head}"postgresql"`),
    )
    .replace(
      /(output\s*=\s*)"\.\.\/packages\/db\/src\/generated\/sqlite"/,
      (_, head: string) => (swaps++, `${head}"../../packages/db/src/generated/postgresql"`),
    );
  if (swaps !== 2) {
    throw new Error(
      'prisma/schema.prisma no longer has the sqlite provider and client output this generator rewrites',
    );
  }
  return GENERATED_HEADER + swapped;
}
