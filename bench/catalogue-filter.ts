/**
 * The catalogue's server-side filter over 10,000 tags of one repository (SQLite unless DATABASE_URL
 * says otherwise): CatalogueService.browse as the tRPC procedure runs it (query, provenance, grouping
 * by version, pull and run lines), per filter. Prints the median of each and, as a same-run reference,
 * the median of the bare SQL query for the same rows with better-sqlite3 (what the database alone
 * costs), and their ratio.
 *   pnpm exec tsx bench/catalogue-filter.ts [--tags 10000] [--runs 30]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { makeTagSet, resolveArch, TARGET_IDS, targetsForHost } from '../packages/arch-table/src/index.ts';
import { AuditService } from '../apps/web/src/server/services/audit.ts';
import { CatalogueService } from '../apps/web/src/server/services/catalogue/catalogue-service.ts';
import { OutboundPolicy } from '../apps/web/src/server/security/outbound.ts';
import type { CatalogueFilter } from '../apps/web/src/server/services/catalogue/view.ts';
import { createDb, createSecretBox, migrateDeploy } from '../packages/db/src/index.ts';

const { values } = parseArgs({
  options: { tags: { type: 'string', default: '10000' }, runs: { type: 'string', default: '30' } },
});
const wanted = Number(values.tags);
const runs = Number(values.runs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = mkdtempSync(join(tmpdir(), 'binfleet-bench-catalogue-'));
const databaseUrl = process.env.DATABASE_URL ?? `file:${join(dir, 'bench.db')}`;
await migrateDeploy(databaseUrl);
const db = createDb(databaseUrl);
try {
  const registry = await db.registry.create({ data: { url: 'http://127.0.0.1:5000' } });
  const repository = await db.repository.create({
    data: { registryId: registry.id, name: 'bench/qemu-user-static' },
  });

  // Versions of the seed's full tag set (from x86_64, with every target) until there are enough tags.
  const rows: { tag: string; version: string; from: string | null; to: string | null; created: Date }[] = [];
  for (let v = 0; rows.length < wanted; v++) {
    const version = `${6 + Math.floor(v / 10)}.${v % 10}.0-1`;
    const created = new Date(Date.UTC(2020, 0, 1) + v * 86_400_000);
    for (const t of makeTagSet({
      version,
      hosts: [{ debianArch: 'amd64', targets: targetsForHost('x86_64') }],
    })) {
      if (t.kind === 'latest' || t.kind === 'register' || t.kind === 'pair' || t.kind === 'target') {
        // Unversioned names exist once per repository; give each version its own versioned copy instead.
        continue;
      }
      rows.push({
        tag: t.tag,
        version,
        from: 'from' in t ? t.from : 'x86_64',
        to: 'to' in t ? t.to : null,
        created,
      });
      if (rows.length === wanted) break;
    }
  }
  const digest = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;
  for (let i = 0; i < rows.length; i += 1000) {
    await db.imageTag.createMany({
      data: rows.slice(i, i + 1000).map((r, j) => ({
        repositoryId: repository.id,
        tag: r.tag,
        digest: digest(i + j),
        size: BigInt(10_000_000 + i + j),
        imageCreatedAt: r.created,
        platform: 'linux/amd64',
        qemuVersion: r.version,
        fromArch: r.from,
        toArch: r.to,
      })),
    });
  }
  const versions = [...new Set(rows.map((r) => r.version))];
  console.log(`${rows.length} tags in ${versions.length} versions, ${TARGET_IDS.length} targets known`);

  const secrets = createSecretBox(Buffer.alloc(32, 7));
  // 0: no periodic sync; the bench only filters.
  const catalogue = new CatalogueService(
    db,
    secrets,
    new AuditService(db),
    0,
    new OutboundPolicy({ allow: [] }),
  );
  const sqlite = databaseUrl.startsWith('file:')
    ? new (createRequire(new URL('../packages/db/package.json', import.meta.url))('better-sqlite3'))(
        databaseUrl.slice('file:'.length),
        { readonly: true },
      )
    : undefined;

  const filters: { label: string; filter: Omit<CatalogueFilter, 'repositoryId'> }[] = [
    { label: 'arch=arm64 (alias, either side)', filter: { arch: 'arm64' } },
    { label: 'from=amd64 to=s390x', filter: { from: 'amd64', to: 's390x' } },
    {
      label: `version=${versions[versions.length - 1]}`,
      filter: { version: versions[versions.length - 1]! },
    },
    { label: 'version + to=armhf', filter: { version: versions[3]!, to: 'armhf' } },
    { label: 'no filter (newest 10 versions)', filter: {} },
    { label: 'no filter, every version', filter: { limit: 500 } },
  ];
  const sqlOf = (f: Omit<CatalogueFilter, 'repositoryId'>) => {
    const where = ['repositoryId = ?'];
    const args: unknown[] = [repository.id];
    const oneOf = (column: string, values: readonly string[]) => {
      args.push(...values);
      return `${column} IN (${values.map(() => '?').join(',')})`;
    };
    if (f.version) where.push(oneOf('qemuVersion', [f.version]));
    // The service shows the newest 10 versions unless a version or a limit is given.
    else if (!f.limit) where.push(oneOf('qemuVersion', versions.slice(-10)));
    if (f.from) where.push(oneOf('fromArch', resolveArch(f.from)));
    if (f.to) where.push(oneOf('toArch', resolveArch(f.to)));
    if (f.arch)
      where.push(`(${oneOf('fromArch', resolveArch(f.arch))} OR ${oneOf('toArch', resolveArch(f.arch))})`);
    return {
      sql: `SELECT tag, digest, size, imageCreatedAt, platform, qemuVersion, fromArch, toArch, buildId FROM ImageTag WHERE ${where.join(' AND ')}`,
      args,
    };
  };

  const overall: number[] = [];
  for (const { label, filter } of filters) {
    const times: number[] = [];
    const reference: number[] = [];
    let matched = 0;
    for (let i = 0; i < runs + 3; i++) {
      const t0 = performance.now();
      const result = await catalogue.browse({ repositoryId: repository.id, ...filter });
      const ms = performance.now() - t0;
      matched = result.total;
      if (sqlite) {
        const { sql, args } = sqlOf(filter);
        const r0 = performance.now();
        sqlite.prepare(sql).all(...args);
        if (i >= 3) reference.push(performance.now() - r0);
      }
      if (i >= 3) times.push(ms); // the first runs warm up caches and the JIT
    }
    overall.push(...times);
    const ref = reference.length ? median(reference) : undefined;
    console.log(
      `${label.padEnd(34)} ${String(matched).padStart(6)} tags  median ${median(times).toFixed(1)} ms` +
        (ref !== undefined
          ? `  (bare SQL ${ref.toFixed(2)} ms, ratio ${(median(times) / ref).toFixed(1)}x)`
          : ''),
    );
  }
  console.log(
    `all filters: median ${median(overall).toFixed(1)} ms, max ${Math.max(...overall).toFixed(1)} ms over ${overall.length} runs`,
  );
  sqlite?.close();
} finally {
  await db.$disconnect();
  rmSync(dir, { recursive: true, force: true });
}
