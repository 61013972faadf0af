import { appendFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtures, startAgent, startSandbox, type AgentProcess, type Sandbox } from '@binfleet/test-sandbox';
import { agentPidFile, type StackInfo } from './stack.ts';

interface TestHost {
  readonly hostname: string;
  readonly sandbox: Sandbox;
  agent?: AgentProcess;
}

/**
 * Hosts of a fleet on this machine: each agent runs in its own user + mount namespace with a private,
 * real kernel binfmt_misc, and its own UTS namespace so that it reports a hostname of its own.
 */
export class SandboxFleet {
  private constructor(
    private readonly stack: StackInfo,
    private readonly hosts: readonly TestHost[],
  ) {}

  static async start(stack: StackInfo, hostnames: readonly string[]): Promise<SandboxFleet> {
    const hosts = await Promise.all(
      hostnames.map(async (hostname) => ({ hostname, sandbox: await startSandbox() })),
    );
    return new SandboxFleet(stack, hosts);
  }

  /**
   * Runs the join command exactly as the page shows it (`binfleet-agent serve --server URL
   * --join-token T`) on every host, with what a test machine adds: a fast heartbeat, and the
   * foreign busybox binaries the self-test runs.
   */
  async joinAll(commandLine: string): Promise<void> {
    const args = serveArgs(commandLine);
    await Promise.all(
      this.hosts.map(async (host) => {
        host.agent = await startAgent(withHostname(host.sandbox, host.hostname), {
          stateDir: mkdtempSync(join(this.stack.dir, `agent-${host.hostname}-`)),
          args: [...args, '--heartbeat-interval', '1s', '--probe-dir', fixtures().busyboxDir],
        });
        appendFileSync(agentPidFile(this.stack), `${host.agent.pid}\n`);
      }),
    );
  }

  /** The entry file as the host's kernel shows it, or undefined when there is no such entry. */
  kernelEntry(hostname: string, name: string): string | undefined {
    try {
      return readFileSync(join(this.host(hostname).sandbox.hostMountPoint, name), 'utf8');
    } catch {
      return undefined;
    }
  }

  /** Every file in the host's binfmt_misc: `register`, `status` and one per entry. */
  kernelFiles(hostname: string): string[] {
    return readdirSync(this.host(hostname).sandbox.hostMountPoint).sort();
  }

  agent(hostname: string): AgentProcess {
    const agent = this.host(hostname).agent;
    if (!agent) throw new Error(`no agent runs on ${hostname}`);
    return agent;
  }

  async stop(): Promise<void> {
    // Stopping a sandbox kills every process inside it, agents included.
    await Promise.all(this.hosts.map((h) => h.sandbox.stop()));
  }

  private host(hostname: string): TestHost {
    const host = this.hosts.find((h) => h.hostname === hostname);
    if (!host) throw new Error(`no test host ${hostname}`);
    return host;
  }
}

/** The arguments of `binfleet-agent serve ...` as the join dialog shows it, to run the agent with. */
export function serveArgs(commandLine: string): string[] {
  const [program, command, ...args] = commandLine.trim().split(/\s+/);
  if (program !== 'binfleet-agent' || command !== 'serve') {
    throw new Error(`not a binfleet-agent serve command line: ${commandLine}`);
  }
  return args;
}

/** Every sandbox shares the machine's hostname; a UTS namespace inside it gives the agent its own. */
function withHostname(sandbox: Sandbox, hostname: string): Sandbox {
  return {
    ...sandbox,
    spawn: (cmd, args = [], options) =>
      sandbox.spawn(
        'unshare',
        ['--uts', '--', 'sh', '-c', 'hostname "$0" && exec "$@"', hostname, cmd, ...args],
        options,
      ),
  };
}
