import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

// The monorepo root: Turbopack and output tracing must see the workspace packages (consumed from source).
const root = fileURLToPath(new URL('../..', import.meta.url));

const config: NextConfig = {
  turbopack: { root },
  outputFileTracingRoot: root,
  images: { unoptimized: true },
  transpilePackages: [
    '@binfleet/arch-table',
    '@binfleet/agent-contract',
    '@binfleet/concurrency',
    '@binfleet/db',
    '@binfleet/deb',
    '@binfleet/env',
  ],
  serverExternalPackages: ['better-sqlite3', 'pg', '@prisma/adapter-pg', '@prisma/adapter-better-sqlite3'],
  poweredByHeader: false,
  experimental: { optimizePackageImports: ['@mantine/core', '@mantine/hooks', '@tabler/icons-react'] },
};

export default config;
