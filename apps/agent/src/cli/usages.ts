/** `binfleet-agent COMMAND --help` for the commands other than register and serve (which keep theirs beside them). */
export const STATUS_USAGE = `Usage: binfleet-agent status [--json]

Shows binfmt_misc's entries as the kernel holds them: state, flags, interpreter, offset, magic, mask.

      --json               print the status as JSON
      --mount-point PATH   binfmt_misc mount point (default $BINFLEET_BINFMT_MOUNT or /proc/sys/fs/binfmt_misc)
  -h, --help               this text
`;

export const REMOVE_USAGE = `Usage: binfleet-agent remove ARCH... | --all

Removes the qemu-<cpu> entries of the named architectures (absent ones are skipped).

      --all                every qemu-* entry of the arch table
      --mount-point PATH   binfmt_misc mount point
      --lock-wait DURATION how long to wait for another binfleet-agent changing binfmt_misc (default 10s)
  -h, --help               this text

ARCH is any name of an architecture: aarch64, arm64, linux/arm64, arm64v8, armhf...
`;

export const switchUsage = (command: 'enable' | 'disable') => `Usage: binfleet-agent ${command} ARCH...

Switches the qemu-<cpu> entries of the named architectures ${command === 'enable' ? 'on' : 'off'} (they stay registered).

      --mount-point PATH   binfmt_misc mount point
      --lock-wait DURATION how long to wait for another binfleet-agent changing binfmt_misc (default 10s)
  -h, --help               this text
`;

export const EXPORT_USAGE = `Usage: binfleet-agent export [ARCH...] [--format systemd|debian] [--exportdir DIR] [options]

Prints (or, with --exportdir, writes) the files systemd-binfmt or update-binfmts load, for the named
architectures or, without any, for every target this host needs. Nothing is written to binfmt_misc.

      --format FORMAT      systemd (default: qemu-<cpu>.conf) or debian (update-binfmts templates)
  -e, --exportdir DIR      write the files there; DIR must exist and be writable
  -p, --persistent yes|no  F flag
  -c, --credential yes|no  OC flags (a warning is printed: setuid foreign binaries gain privileges)
  -g, --preserve-argv0 yes|no  P flag
  -i, --ignore-family yes|no   also the targets of the host's family
  -Q, --qemu-path PATH     where the emulators are (default $QEMU_BIN_DIR or /usr/bin)
  -F, --qemu-suffix SUF    emulator name suffix (default -static)
      --json               print the files as JSON
  -h, --help               this text
`;

export const VERIFY_USAGE = `Usage: binfleet-agent verify [ARCH...] [--method probe|container]... [--json]

Runs a real binary of each registered architecture (or of the named ones) through the kernel and its
emulator (probe), and a container of that platform through dockerd (container). Exit status 0 only
when at least one check passed and none failed: a run that checked nothing exits 1 and says why.

      --method METHOD      probe or container (default both; repeat for both)
      --probe-dir DIR      where the probe binaries are (default $BINFLEET_PROBE_DIR)
      --verify-image TPL   the image of a platform, {tag} replaced (default $BINFLEET_VERIFY_IMAGE)
      --docker-socket PATH dockerd's socket (default $BINFLEET_DOCKER_SOCKET)
      --json               print the report as JSON
  -h, --help               this text
`;
