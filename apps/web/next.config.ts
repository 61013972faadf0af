import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

// The monorepo root: Turbopack and output tracing must see the workspace packages (consumed from source).
const root = fileURLToPath(new URL('../..', import.meta.url));

const config: NextConfig = {
  turbopack: { root },
  outputFileTracingRoot: root,
  images: { unoptimized: true },
  transpilePackages: ['@binfleet/arch-table', '@binfleet/agent', '@binfleet/db', '@binfleet/env'],
  serverExternalPackages: [
    'better-sqlite3',
    'dockerode',
    'ssh2',
    'cpu-features',
    'pg',
    '@prisma/adapter-pg',
    '@prisma/adapter-better-sqlite3',
  ],
  poweredByHeader: false,
  experimental: { optimizePackageImports: ['@mantine/core', '@mantine/hooks', '@tabler/icons-react'] },
};

export default config;
