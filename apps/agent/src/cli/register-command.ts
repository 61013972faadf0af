import { machine } from 'node:os';
import {
  credentialFindings,
  resolveArch,
  targetsForHost,
  type ExportFormat,
  type TargetId,
} from '@binfleet/arch-table';
import type { AgentEnv } from '../env.ts';
import type { RegistrationService } from '../services/registration-service.ts';
import { UsageError, yesNo } from './args.ts';
import { parseGetopt } from './getopt.ts';
import { desiredFromSeed, SEED_OPTIONS, writeExportFiles } from './seed-options.ts';

export const REGISTER_USAGE = `Usage: binfleet-agent register [--reset] [--force] [options] [TARGET...]

Registers QEMU user-mode emulators in binfmt_misc: a drop-in for
\`docker run --rm --privileged multiarch/qemu-user-static --reset -p yes\`
(the seed's register script in front of qemu-binfmt-conf.sh). TARGETs (aarch64, arm64, linux/arm64...)
register just those; without any, every target outside the host's family.

  --reset                  remove every qemu-* entry first
  --force                  replace entries registered with other settings, and register beside
                           entries of other names whose magic overlaps (named when refused)
  --allow-missing          register (without F) although the emulators are not there yet
  --force-native           register targets whose magic takes this host's own programs: BREAKS
                           THE HOST (every program then starts through QEMU); audited
  -p, --persistent yes|no  F flag: load the interpreter now, works in containers and chroots
  -c, --credential yes|no  OC flags: credentials from the binary (needed for sudo inside emulated
                           containers; lets setuid foreign binaries gain privileges: a warning is printed)
  -g, --preserve-argv0 yes|no  P flag: keep argv[0]
  -i, --ignore-family yes|no   also register targets of the host's family (riscv32 on riscv64)
  -Q, --qemu-path PATH     where the emulators are (default $QEMU_BIN_DIR or /usr/bin)
  -F, --qemu-suffix SUF    emulator name suffix (default -static)
  -s, --systemd CPU|ALL    don't write into binfmt_misc, write systemd-binfmt files instead
  -d, --debian             don't write into binfmt_misc, write update-binfmts templates instead
  -e, --exportdir PATH     where --systemd/--debian write (default /etc/binfmt.d or /usr/share/binfmts);
                           it must exist and be writable
      --mount-point PATH   binfmt_misc mount point (default $BINFLEET_BINFMT_MOUNT or /proc/sys/fs/binfmt_misc)
      --json               print the result as JSON
  -h, --help               this text

The environment variable HOST_ARCH overrides \`uname -m\` for the host family rules; whatever it says,
targets that match this host's own programs (the agent's interpreter, /bin/sh) are refused.
Registering what is already registered identically is a no-op. Options are read as qemu's script
reads them (GNU getopt): -F -static, -Q/usr/bin, --qemu-path=/usr/bin, --persist yes.
`;

export interface CommandContext {
  readonly env: AgentEnv;
  readonly registration: () => RegistrationService;
  /**
   * Gets `exclusive` ready (starts the lock's helper process) while the command does its other work:
   * call it once the command knows it will change binfmt_misc. Optional to call; never throws.
   */
  readonly prepareExclusive: () => void;
  /** Runs a change to binfmt_misc under the lock `serve` takes too (waits --lock-wait, then BUSY). */
  readonly exclusive: <T>(label: string, fn: () => Promise<T>) => Promise<T>;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const OPTIONS = {
  ...SEED_OPTIONS,
  reset: { type: 'boolean' },
  force: { type: 'boolean' },
  'force-native': { type: 'boolean' },
  'allow-missing': { type: 'boolean' },
  systemd: { type: 'string', short: 's' },
  debian: { type: 'boolean', short: 'd' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function registerCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseGetopt(argv, OPTIONS);
  if (values.help) {
    ctx.out(REGISTER_USAGE);
    return 0;
  }
  // Into binfmt_misc (not files): the lock's helper starts while the targets and the state are worked out.
  if (values.systemd === undefined && !values.debian) ctx.prepareExclusive();
  const ignoreFamily = yesNo('--ignore-family', values['ignore-family']);
  const hostArch = ctx.env.hostArch ?? machine();
  let targets = positionals.length
    ? [...new Set(positionals.flatMap((n) => resolveArch(n)))]
    : targetsForHost(hostArch, { ignoreFamily });
  const state = desiredFromSeed(values, ctx.env, targets);

  const format: ExportFormat | undefined =
    values.systemd !== undefined ? 'systemd' : values.debian ? 'debian' : undefined;
  if (format) {
    if (values.systemd !== undefined && values.systemd !== 'ALL') {
      const only = resolveCpu(values.systemd);
      targets = targets.filter((t) => t === only);
    }
    if (values.reset)
      ctx.err('Note: --reset is ignored with --systemd/--debian: nothing is written to binfmt_misc.');
    for (const f of credentialFindings(state)) ctx.err(`Warning: ${f.message}`);
    const dir = values.exportdir ?? (format === 'systemd' ? '/etc/binfmt.d' : '/usr/share/binfmts');
    const files = await writeExportFiles(format, targets, state, dir);
    if (values.json) ctx.out(JSON.stringify({ format, dir, files }, null, 2));
    else if (files.length > 0) ctx.out(files.map((f) => `Wrote ${dir}/${f}`).join('\n'));
    return 0;
  }

  if (state.forceNative) {
    ctx.err(
      "WARNING: --force-native: targets that match this host's own programs will be registered. " +
        'Every program of the host then starts through QEMU, and the host may stop working. Logged as an audit line.',
    );
  }
  const result = await ctx.exclusive(values.reset ? 'register --reset' : 'register', () =>
    ctx.registration().apply(state, { reset: values.reset ?? false, force: values.force ?? false }),
  );
  for (const w of result.warnings) ctx.err(`Warning: ${w}`);
  if (values.json) {
    const actions = result.actions.map((a) =>
      a.kind === 'register' ? { kind: a.kind, target: a.target, line: a.line } : a,
    );
    ctx.out(
      JSON.stringify(
        { changed: result.changed, actions, entries: result.entries, warnings: result.warnings },
        null,
        2,
      ),
    );
    return 0;
  }
  // One write for all of it: a write per line was 62 system calls (and stream calls) of a reset.
  const lines = result.actions.map((a) => {
    switch (a.kind) {
      case 'remove':
        return `Removed ${a.name}${a.reason === 'replace' ? ' (registered with other settings)' : ''}`;
      case 'register':
        return `Setting ${a.spec.interpreter} as binfmt interpreter for ${a.target}`;
      case 'unchanged':
        return `${a.name} is already registered identically`;
      case 'enable':
        return `Enabled ${a.name}`;
      case 'disable':
        return `Disabled ${a.name}`;
    }
  });
  if (lines.length > 0) ctx.out(lines.join('\n'));
  return 0;
}

/** The script accepts exactly one of its cpu names for --systemd; we also take aliases (arm64). */
function resolveCpu(name: string): TargetId {
  try {
    const ids = resolveArch(name);
    if (ids.length === 1) return ids[0]!;
  } catch {
    // reported below with the script's wording
  }
  throw new UsageError(`ERROR: unknown CPU "${name}": give one QEMU target (e.g. aarch64) or ALL.`);
}
