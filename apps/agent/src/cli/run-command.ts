import { ArchTableError } from '@binfleet/arch-table';
import { EnvError } from '@binfleet/env';
import { DEFAULT_MOUNT_POINT } from '../adapters/binfmt-fs.ts';
import { FlockHostLock } from '../adapters/flock-host-lock.ts';
import { KernelBinfmtFs } from '../adapters/kernel-binfmt-fs.ts';
import { nodeHostOs } from '../adapters/node-host-os.ts';
import { readEnv, type AgentEnv } from '../env.ts';
import { AgentError } from '../errors.ts';
import { HostProbe } from '../host/host-probe.ts';
import { RegistrationService } from '../services/registration-service.ts';
import { agentVersion } from '../version.ts';
import { exitCodeOf, parseDuration, UsageError } from './args.ts';
import { exportCommand, removeCommand, statusCommand, switchCommand } from './entry-commands.ts';
import { registerCommand, type CommandContext } from './register-command.ts';
import { SNAPSHOT_COMMANDS } from './snapshot-commands.ts';

const USAGE = `Usage: binfleet-agent COMMAND [options]

Commands:
  register [TARGET...]   register QEMU emulators (seed-compatible: --reset -p yes)
  status [--json]        the kernel's binfmt_misc entries, parsed
  remove ARCH...|--all   remove entries
  enable ARCH...         switch entries on
  disable ARCH...        switch entries off
  verify [ARCH...]       run a real binary of each architecture through its emulator
  export [ARCH...]       print or write systemd-binfmt files (--format debian for update-binfmts)
  serve [options]        run the agent service (tRPC API, reconciliation)
  build [options]        build, test and push the images of one package per host architecture (CI); --help
  version                this agent's version and the agent contract it speaks
  --version              this agent's version alone

Every command takes --help. ARCH is any name the arch table knows: aarch64, arm64, linux/arm64, arm64v8, armhf, ppc64el...
Every command takes --mount-point PATH (default $BINFLEET_BINFMT_MOUNT or ${DEFAULT_MOUNT_POINT}).
Commands that change binfmt_misc wait up to --lock-wait DURATION (default 10s) for another
binfleet-agent process (e.g. serve) changing it, then fail naming that process (exit status 75).
`;

/** Every command gets --mount-point and --lock-wait; pull them out before the command parses its own options. */
function takeGlobalOptions(argv: string[]): { argv: string[]; mountPoint?: string; lockWait?: string } {
  const rest: string[] = [];
  const found: { mountPoint?: string; lockWait?: string } = {};
  const names = { '--mount-point': 'mountPoint', '--lock-wait': 'lockWait' } as const;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] =
      a.startsWith('--') && a.includes('=')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
    const key = Object.hasOwn(names, flag!) ? names[flag as keyof typeof names] : undefined;
    if (key === undefined) rest.push(a);
    else {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`${flag} needs a value.`);
      found[key] = value;
    }
  }
  if (found.mountPoint !== undefined && !found.mountPoint.startsWith('/'))
    throw new UsageError('--mount-point needs an absolute path.');
  return { argv: rest, ...found };
}

export interface CommandIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/**
 * The commands this module does not load: each in a chunk of its own (tRPC, dockerode, the image
 * pipeline), which the startup snapshot (`snapshot-main.ts`) leaves out. `early` ones parse all of
 * their arguments; `withContext` ones get --mount-point, --lock-wait and the registration service.
 */
export interface LoadedCommands {
  readonly early: Readonly<Record<string, (argv: string[], env: AgentEnv, io: CommandIo) => Promise<number>>>;
  readonly withContext: Readonly<Record<string, (argv: string[], ctx: CommandContext) => Promise<number>>>;
}

export async function runCommand(rawArgv: string[], io: CommandIo, loaded: LoadedCommands): Promise<number> {
  try {
    const env = readEnv();
    const [command, ...rawRest] = rawArgv;
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      io.out(USAGE);
      return command === undefined ? 2 : 0;
    }
    if (command === '--version' || command === '-V') {
      io.out(await agentVersion());
      return 0;
    }
    const early = Object.hasOwn(loaded.early, command) ? loaded.early[command] : undefined;
    if (early) return await early(rawRest, env, io);
    const withContext = Object.hasOwn(loaded.withContext, command) ? loaded.withContext[command] : undefined;
    if (!withContext && !(SNAPSHOT_COMMANDS as readonly string[]).includes(command))
      throw new UsageError(`Unknown command "${command}". Run binfleet-agent --help.`);
    const { argv, mountPoint, lockWait } = takeGlobalOptions(rawRest);
    const fs = new KernelBinfmtFs(mountPoint ?? env.binfmtMount);
    const lockWaitMs = parseDuration('--lock-wait', lockWait ?? '10s');
    let registration: RegistrationService | undefined;
    let lock: FlockHostLock | undefined;
    const hostLock = () => (lock ??= FlockHostLock.forThisNamespace(env.lockDir));
    const ctx: CommandContext = {
      env,
      registration: () =>
        (registration ??= new RegistrationService(fs, new HostProbe(nodeHostOs), {
          // An audit line on stderr, with who and what, for a change that may break the host.
          audit: (record) =>
            io.err(
              `AUDIT ${JSON.stringify({ ...record, uid: process.getuid?.(), pid: process.pid, argv: rawArgv })}`,
            ),
        })),
      prepareExclusive: () => {
        try {
          hostLock().prepare();
        } catch {
          // exclusive reports it (a lock directory that is not this user's, say).
        }
      },
      exclusive: async (label, fn) => {
        const release = await hostLock().acquire(label, lockWaitMs);
        try {
          return await fn();
        } finally {
          await release();
        }
      },
      ...io,
    };
    switch (command) {
      case 'register':
        return await registerCommand(argv, ctx);
      case 'status':
        return await statusCommand(argv, ctx);
      case 'remove':
        return await removeCommand(argv, ctx);
      case 'enable':
        return await switchCommand(argv, ctx, true);
      case 'disable':
        return await switchCommand(argv, ctx, false);
      case 'export':
        return await exportCommand(argv, ctx);
      default:
        return await withContext!(argv, ctx);
    }
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof EnvError ||
      error instanceof AgentError ||
      error instanceof ArchTableError
    ) {
      io.err(`binfleet-agent: ${error.message}`);
    } else {
      io.err(`binfleet-agent: unexpected error: ${(error as Error).stack ?? String(error)}`);
    }
    return exitCodeOf(error);
  }
}
