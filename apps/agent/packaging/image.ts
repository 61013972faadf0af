import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { downloadPackages, extractPackages, resolveClosure } from './debian-packages.ts';
import { artifactNames, TARBALL_PREFIX } from './release-layout.ts';

/**
 * What the image holds besides the agent: Debian's nodejs (18), the emulators (with F, the kernel
 * opens them from the container's files), CA certificates, and what the agent and its launcher run:
 * sh and coreutils (readlink), perl (the host lock's helper), util-linux (unshare), mount (binfmt_misc),
 * dpkg-deb (builder agents read QEMU packages).
 */
const IMAGE_PACKAGES = [
  'nodejs',
  'qemu-user-static',
  'ca-certificates',
  'dash',
  'coreutils',
  'perl-base',
  'util-linux',
  'mount',
  'dpkg',
];

/**
 * The agent container image, binfleet/agent:<version>, without a base image (none can be pulled
 * here): a root filesystem unpacked from Debian packages plus the agent's tree at
 * /opt/binfleet-agent, imported with `docker import` and saved with `docker save` to `outFile`.
 */
export function writeImage(stageDir: string, tree: string, version: string, outFile: string): void {
  const rootfs = join(stageDir, 'rootfs');
  mkdirSync(rootfs, { recursive: true });
  chmodSync(rootfs, 0o755);
  extractPackages(downloadPackages(resolveClosure(IMAGE_PACKAGES)), rootfs);
  completeRootfs(rootfs);
  cpSync(tree, join(rootfs, TARBALL_PREFIX.slice(1)), { recursive: true });
  mkdirSync(join(rootfs, 'usr/local/bin'), { recursive: true });
  symlinkSync(`${TARBALL_PREFIX}/bin/binfleet-agent`, join(rootfs, 'usr/local/bin/binfleet-agent'));
  remakeCodeCache(rootfs);

  const rootfsTar = join(stageDir, 'rootfs.tar');
  execFileSync('tar', [
    '--sort=name',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '-C',
    rootfs,
    '-cf',
    rootfsTar,
    '.',
  ]);
  const tag = artifactNames(version).imageTag;
  const changes = [
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'ENV NODE_ENV=production',
    // No startup snapshot for the CLI (launcher.sh.in): each container would make its own, a second
    // more than the bundle on its first and often only command.
    'ENV BINFLEET_AGENT_SNAPSHOT_DIR=',
    'VOLUME /var/lib/binfleet-agent',
    'EXPOSE 7475',
    `LABEL org.opencontainers.image.title=binfleet-agent org.opencontainers.image.version=${version}`,
    `ENTRYPOINT ["${TARBALL_PREFIX}/bin/binfleet-agent"]`,
    // 0.0.0.0 inside the container; publish the port only where it should be reachable.
    'CMD ["serve", "--listen", "0.0.0.0:7475"]',
  ];
  execFileSync('docker', ['import', ...changes.flatMap((c) => ['--change', c]), rootfsTar, tag], {
    stdio: 'pipe',
  });
  execFileSync('docker', ['save', '-o', outFile, tag]);
  // docker save writes 0600; the control plane serves the file to hosts.
  chmodSync(outFile, 0o644);
}

/**
 * The light commands' code cache (src/cli/code-cache.ts) made again by the image's node (Debian's, not
 * the build's, whose cache it would refuse): the image's CLI runs the bundle (no startup snapshot, see
 * below), and this is what starts it from bytecode. Run in the root filesystem (chroot: root only); a
 * build that cannot leaves no cache in the image rather than one its node refuses on every run.
 */
function remakeCodeCache(rootfs: string): void {
  const bin = `${TARBALL_PREFIX}/lib/dist/bin`;
  const script = `${bin}/binfleet-agent-snapshot.cjs`;
  try {
    execFileSync('chroot', [rootfs, '/usr/bin/node', `${bin}/write-code-cache.cjs`, script], {
      // chroot is found on this PATH too (/usr/sbin); node, inside, by its full path.
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', NODE_OPTIONS: '' },
      stdio: 'pipe',
    });
  } catch (error) {
    rmSync(join(rootfs, `${script}.code-cache`), { force: true });
    const why = (error as { stderr?: Buffer }).stderr?.toString().trim() || String(error);
    process.stderr.write(
      `warning: the image's CLI has no code cache (its node could not make one here: ${why})\n`,
    );
  }
}

/** What the packages' maintainer scripts (which do not run here) would have made. */
function completeRootfs(rootfs: string): void {
  const at = (path: string) => join(rootfs, path);
  // Documentation nobody reads in a container (as slim images do).
  for (const dir of ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale'])
    rmSync(at(dir), { recursive: true, force: true });
  if (!existsSync(at('bin/sh'))) symlinkSync('dash', at('bin/sh'));
  // update-ca-certificates: one bundle of every certificate the package ships.
  const certs = at('usr/share/ca-certificates/mozilla');
  const bundle = readdirSync(certs)
    .filter((f) => f.endsWith('.crt'))
    .sort()
    .map((f) => readFileSync(join(certs, f), 'utf8'))
    .join('');
  mkdirSync(at('etc/ssl/certs'), { recursive: true });
  writeFileSync(at('etc/ssl/certs/ca-certificates.crt'), bundle);
  writeFileSync(at('etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(at('etc/group'), 'root:x:0:\n');
  for (const dir of ['tmp', 'root', 'run', 'var/lib/binfleet-agent']) mkdirSync(at(dir), { recursive: true });
  chmodSync(at('tmp'), 0o1777);
  chmodSync(at('root'), 0o700);
  chmodSync(at('var/lib/binfleet-agent'), 0o700);
}
