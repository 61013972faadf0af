import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { AgentInstall } from './agent-install.ts';

const run = promisify(execFile);

/**
 * The tarball's layout, found from the bundle this process runs (`process.argv[1]`): the launcher
 * resolves `current` physically, so a tarball install runs `<prefix>/versions/<v>/lib/dist/bin/...`.
 */
export class TarballAgentInstall implements AgentInstall {
  readonly launcher: string;
  private readonly versions: string;

  constructor(
    /** `<prefix>`, when the bundle sits in `<prefix>/versions/<v>/lib/dist/bin/`. */
    private readonly root: string | undefined,
    private readonly bundle: string,
  ) {
    this.launcher = join(root ?? '/nonexistent', 'bin/binfleet-agent');
    this.versions = join(root ?? '/nonexistent', 'versions');
  }

  static forBundle(bundle: string | undefined): TarballAgentInstall {
    const file = bundle ?? '';
    const versionDir = dirname(dirname(dirname(dirname(file))));
    const root = basename(dirname(versionDir)) === 'versions' ? dirname(dirname(versionDir)) : undefined;
    return new TarballAgentInstall(root, file);
  }

  async problem(): Promise<string | undefined> {
    const how = this.bundle.startsWith('/usr/lib/binfleet-agent/')
      ? 'this agent was installed by the .deb: upgrade it with apt-get (or run the install line from Fleet > Add host again)'
      : `this agent runs from ${this.bundle || 'an unknown place'}, not from a tarball install with versions/ and current (install.sh --method tarball): upgrade it as it was installed, or run the install line again`;
    if (!this.root) return how;
    const current = await lstat(join(this.root, 'current')).catch(() => undefined);
    return current?.isSymbolicLink() ? undefined : how;
  }

  async workDir(): Promise<string> {
    await mkdir(this.versions, { recursive: true, mode: 0o755 });
    return mkdtemp(join(this.versions, '.incoming-'));
  }

  async unpack(file: string, version: string): Promise<string> {
    const target = join(this.versions, version);
    const staging = await mkdtemp(join(this.versions, `.${version}-`));
    try {
      await run('tar', ['-xzf', file, '-C', staging, '--strip-components=1', '--no-same-owner'], {
        timeout: 120_000,
      }).catch((error: { stderr?: string; message: string }) => {
        throw new Error(`cannot unpack it (${(error.stderr || error.message).trim().split('\n')[0]})`);
      });
      const { stdout } = await run(join(staging, 'bin/binfleet-agent'), ['--version'], {
        timeout: 30_000,
      }).catch((error: { stderr?: string; message: string }) => {
        throw new Error(
          `its launcher does not start here (${(error.stderr || error.message).trim().split('\n').pop()})`,
        );
      });
      if (stdout.trim() !== version)
        throw new Error(`it says it is version ${stdout.trim() || '(nothing)'}, not ${version}`);
      await rm(target, { recursive: true, force: true });
      await rename(staging, target);
      return target;
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
  }

  async activate(version: string): Promise<{ readonly previous: string | undefined }> {
    const root = this.root!;
    const previous = await this.currentVersion();
    const next = join(root, `.current-${process.pid}`);
    await rm(next, { force: true });
    await symlink(`versions/${version}`, next);
    await rename(next, join(root, 'current'));
    const keep = new Set([version, previous]);
    for (const entry of await readdir(this.versions))
      if (!keep.has(entry) && !entry.startsWith('.'))
        await rm(join(this.versions, entry), { recursive: true, force: true });
    return { previous };
  }

  private async currentVersion(): Promise<string | undefined> {
    const target = await readlink(join(this.root!, 'current')).catch(() => undefined);
    return target?.startsWith('versions/') ? target.slice('versions/'.length) : undefined;
  }
}
