import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The Debian architectures scripts/test-deps.sh downloads a static busybox for. */
export type DebianArch =
  'amd64' | 'arm64' | 'armhf' | 'armel' | 'i386' | 'ppc64el' | 's390x' | 'riscv64' | 'mips64el';

/** Files downloaded by scripts/test-deps.sh; locations come from its env.sh, with the same defaults. */
export interface Fixtures {
  dir: string;
  busyboxDir: string;
  /** The qemu-user-static .deb itself, as `apt-get download qemu-user-static` gives it. */
  qemuDeb: string;
  /** The qemu-user-static .deb of a host architecture: the native one, or one of test-deps.sh's foreign ones. */
  qemuDebOf(arch: 'amd64' | 'arm64' | 'armhf'): string;
  /** busybox-static's .deb of an architecture, as apt-get download gives it. */
  busyboxDeb(arch: DebianArch): string;
  /** A static busybox built for the given architecture. */
  busybox(arch: DebianArch): string;
  /** A tar of a minimal root (/bin/busybox, sh, uname, echo, cat) for `docker import --platform`. */
  rootfsTar(arch: DebianArch): string;
}

export function fixtures(): Fixtures {
  const dir = process.env.BINFLEET_FIXTURES || '/var/cache/binfleet/fixtures';
  const busyboxDir = required(process.env.BINFLEET_BUSYBOX_DIR || join(dir, 'busybox'), 'busybox directory');
  const qemuDeb = required(
    process.env.BINFLEET_QEMU_DEB || findQemuDeb(join(dir, 'debs')),
    'qemu-user-static .deb',
  );
  return {
    dir,
    busyboxDir,
    qemuDeb,
    qemuDebOf: (arch) =>
      arch === 'amd64'
        ? qemuDeb
        : required(
            findDeb(process.env.BINFLEET_QEMU_DEBS_DIR || join(dir, 'qemu-debs'), 'qemu-user-static', arch),
            `qemu-user-static .deb for ${arch}`,
          ),
    busyboxDeb: (arch) =>
      required(findDeb(join(dir, 'debs'), 'busybox-static', arch), `busybox-static .deb for ${arch}`),
    busybox: (arch) => required(join(busyboxDir, arch, 'busybox'), `busybox for ${arch}`),
    rootfsTar: (arch) => required(join(dir, 'rootfs', `${arch}.tar`), `rootfs tar for ${arch}`),
  };
}

/** The downloaded .deb's name carries its version; when none is there, the pattern goes into the error. */
function findQemuDeb(debsDir: string): string {
  const name =
    existsSync(debsDir) && readdirSync(debsDir).find((file) => /^qemu-user-static_.*\.deb$/.test(file));
  return join(debsDir, name || 'qemu-user-static_*.deb');
}

function findDeb(debsDir: string, name: string, arch: string): string {
  const pattern = new RegExp(`^${name}_.*_${arch}\\.deb$`);
  const found = existsSync(debsDir) && readdirSync(debsDir).find((file) => pattern.test(file));
  return join(debsDir, found || `${name}_*_${arch}.deb`);
}

function required(path: string, what: string): string {
  if (!existsSync(path)) {
    throw new Error(
      `test fixture missing: ${what} (${path}). Run \`bash scripts/test-deps.sh\` as root to fetch it.`,
    );
  }
  return path;
}
