import { agentVersion } from '../version.ts';
import { stdio } from './process-io.ts';
import { runCommand, type CommandIo, type LoadedCommands } from './run-command.ts';

export { exitQuietlyOnClosedPipe } from './process-io.ts';

/** What the heavier commands load when they run (the startup snapshot holds none of it). */
const LOADED: LoadedCommands = {
  early: {
    version: async (_argv, _env, io) => {
      const { CONTRACT_VERSION } = await import('@binfleet/agent-contract');
      io.out(`binfleet-agent ${await agentVersion()} (agent contract ${CONTRACT_VERSION})`);
      return 0;
    },
    serve: async (argv, env) => {
      const { serveCommand } = await import('./serve-command.ts');
      return await serveCommand(argv, env);
    },
    build: async (argv, env, io) => {
      const { buildCommand } = await import('./build-command.ts');
      return await buildCommand(argv, env, io);
    },
  },
  withContext: {
    verify: async (argv, ctx) => {
      const { verifyCommand } = await import('./verify-command.ts');
      return await verifyCommand(argv, ctx);
    },
  },
};

/** The CLI: `binfleet-agent COMMAND [options]`; resolves with the exit status. */
export function main(rawArgv: string[], io: CommandIo = stdio): Promise<number> {
  return runCommand(rawArgv, io, LOADED);
}
