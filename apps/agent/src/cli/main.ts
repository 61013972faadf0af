import { ArchTableError } from '@binfleet/arch-table';
import { KernelBinfmtFs, DEFAULT_MOUNT_POINT } from '../binfmt/binfmt-fs.ts';
import { readEnv } from '../env.ts';
import { AgentError } from '../errors.ts';
import { HostProbe } from '../host/host-probe.ts';
import { RegistrationService } from '../services/registration-service.ts';
import { exitCodeOf, UsageError } from './args.ts';
import { exportCommand, removeCommand, statusCommand, switchCommand } from './entry-commands.ts';
import { registerCommand, type CommandContext } from './register-command.ts';

const USAGE = `Usage: binfleet-agent COMMAND [options]

Commands:
  register [options]     register QEMU emulators (seed-compatible: --reset -p yes); --help for options
  status [--json]        the kernel's binfmt_misc entries, parsed
  remove ARCH...|--all   remove entries
  enable ARCH...         switch entries on
  disable ARCH...        switch entries off
  verify [ARCH...]       run a real binary of each architecture through its emulator
  export [ARCH...]       print or write systemd-binfmt files (--format debian for update-binfmts)
  serve [options]        run the agent service (tRPC API, reconciliation)

ARCH is any name the arch table knows: aarch64, arm64, linux/arm64, arm64v8, armhf, ppc64el...
Every command takes --mount-point PATH (default $BINFLEET_BINFMT_MOUNT or ${DEFAULT_MOUNT_POINT}).
`;

/** Every command gets --mount-point; pull it out before the command parses its own options. */
function takeMountPoint(argv: string[]): { argv: string[]; mountPoint?: string } {
  const rest: string[] = [];
  let mountPoint: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--mount-point') mountPoint = argv[++i];
    else if (a.startsWith('--mount-point=')) mountPoint = a.slice('--mount-point='.length);
    else rest.push(a);
  }
  if (mountPoint !== undefined && !mountPoint.startsWith('/'))
    throw new UsageError('--mount-point needs an absolute path.');
  return { argv: rest, ...(mountPoint === undefined ? {} : { mountPoint }) };
}

export async function main(
  rawArgv: string[],
  io: { out: (line: string) => void; err: (line: string) => void } = {
    out: (line) => process.stdout.write(line + '\n'),
    err: (line) => process.stderr.write(line + '\n'),
  },
): Promise<number> {
  try {
    const env = readEnv();
    const [command, ...rawRest] = rawArgv;
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      io.out(USAGE);
      return command === undefined ? 2 : 0;
    }
    if (command === 'serve') {
      const { serveCommand } = await import('./serve-command.ts');
      return await serveCommand(rawRest);
    }
    const { argv, mountPoint } = takeMountPoint(rawRest);
    const fs = new KernelBinfmtFs(mountPoint ?? env.binfmtMount ?? DEFAULT_MOUNT_POINT);
    let registration: RegistrationService | undefined;
    const ctx: CommandContext = {
      env,
      registration: () => (registration ??= new RegistrationService(fs, new HostProbe().interpreterExists)),
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
      case 'verify': {
        const { verifyCommand } = await import('./verify-command.ts');
        return await verifyCommand(argv, ctx);
      }
      default:
        throw new UsageError(`Unknown command "${command}". Run binfleet-agent --help.`);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof AgentError || error instanceof ArchTableError) {
      io.err(`binfleet-agent: ${error.message}`);
    } else {
      io.err(`binfleet-agent: unexpected error: ${(error as Error).stack ?? String(error)}`);
    }
    return exitCodeOf(error);
  }
}
