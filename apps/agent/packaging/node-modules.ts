import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface ShippedModule {
  readonly name: string;
  readonly version: string;
  readonly license: string;
}

interface PackageJson {
  name: string;
  version: string;
  license?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const readPackage = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;

/** The folder of `name` as Node resolves it from `fromDir`, or undefined (a missing optional dependency). */
function resolvePackageDir(fromDir: string, name: string): string | undefined {
  const require = createRequire(join(fromDir, 'package.json'));
  try {
    return realpathSync(dirname(require.resolve(`${name}/package.json`)));
  } catch {
    // Packages whose "exports" hide package.json: find the folder through any file they export.
    for (const base of require.resolve.paths(name) ?? []) {
      try {
        return realpathSync(join(base, name));
      } catch {
        continue;
      }
    }
    return undefined;
  }
}

/**
 * Copies the run-time dependency closure of `roots` (as installed in `fromDir`'s node_modules, by
 * pnpm) into `destNodeModules` as an npm-style tree: each package at the top unless another version
 * of it is there already, then beside the package that needs it. Node resolves the copy as it
 * resolves the checkout. Type packages (@types/*) and unbuilt optional native addons are left out.
 */
export function copyDependencyClosure(
  fromDir: string,
  roots: readonly string[],
  destNodeModules: string,
): ShippedModule[] {
  // What each node_modules folder of the copy holds: name -> version.
  const placed = new Map<string, Map<string, string>>();
  const shipped = new Map<string, ShippedModule>();

  const place = (sourceDir: string, requiredFrom: string, chain: readonly string[]) => {
    const pkg = readPackage(sourceDir);
    if (pkg.name.startsWith('@types/')) return;
    // Node looks in requiredFrom/node_modules, then in each enclosing package's, up to the top.
    for (const nodeModules of chain) {
      const version = placed.get(nodeModules)?.get(pkg.name);
      if (version === pkg.version) return;
      if (version !== undefined) {
        install(pkg, sourceDir, join(requiredFrom, 'node_modules'), chain);
        return;
      }
    }
    install(pkg, sourceDir, destNodeModules, chain);
  };

  const install = (pkg: PackageJson, sourceDir: string, nodeModules: string, chain: readonly string[]) => {
    const target = join(nodeModules, pkg.name);
    if (!placed.has(nodeModules)) placed.set(nodeModules, new Map());
    placed.get(nodeModules)!.set(pkg.name, pkg.version);
    mkdirSync(dirname(target), { recursive: true });
    cpSync(sourceDir, target, {
      recursive: true,
      dereference: true,
      // Nested node_modules are pnpm's links (placed here on their own); dotfiles are the package's
      // development files (.eslintrc, .npmignore, .github), never loaded.
      filter: (src) =>
        !src
          .slice(sourceDir.length)
          .split('/')
          .some((p) => p === 'node_modules' || p.startsWith('.')),
    });
    shipped.set(`${pkg.name}@${pkg.version}`, {
      name: pkg.name,
      version: pkg.version,
      license: pkg.license ?? 'see its folder',
    });
    const below = [join(target, 'node_modules'), ...chain.slice(chain.indexOf(nodeModules))];
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      const dir = resolvePackageDir(sourceDir, name);
      // An optional native addon is not built here (pnpm allowBuilds: false): its package loads without it.
      if (dir && !(name in (pkg.optionalDependencies ?? {}) && existsSync(join(dir, 'binding.gyp'))))
        place(dir, target, below);
    }
  };

  for (const name of roots) {
    const dir = resolvePackageDir(fromDir, name);
    if (!dir) throw new Error(`${name} is not installed in ${fromDir}: run pnpm install`);
    place(dir, destNodeModules, [destNodeModules]);
  }
  return [...shipped.values()].sort((a, b) => a.name.localeCompare(b.name));
}
