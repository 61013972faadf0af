import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { startSandbox, type Sandbox } from './sandbox.ts';

/**
 * Hosts on a network of their own, for tests: a bridge in the machine's namespace with a gateway
 * address, and one network namespace per host (a veth pair into the bridge, an address of its own,
 * its own hostname and a private binfmt_misc). The control plane listens on the gateway address and
 * reaches each agent at its host's address, so a loopback shortcut fails as on a real network.
 * Traffic stays between the test's own namespaces and the gateway: the subnet is checked to be unused
 * on this machine, and nothing routes beyond the bridge.
 */
export interface TestNetwork {
  /** The gateway: the address of the machine on the test network (bind the control plane here). */
  readonly gateway: string;
  /** Adds a host, e.g. `addHost('edge-1')`. */
  addHost(hostname: string): Promise<NetworkHost>;
  /** Removes every host (their processes, namespaces and links) and the bridge. Idempotent. */
  stop(): Promise<void>;
}

export interface NetworkHost {
  readonly hostname: string;
  /** The host's own address on the test network. */
  readonly address: string;
  /** The network namespace's name (`ip netns exec NAME ...`). */
  readonly netns: string;
  /** The host's user + mount + network namespaces: commands run here as on that host. */
  readonly sandbox: Sandbox;
  /** The host's firewall drops every inbound TCP connection (new ones; replies to its own pass). */
  dropInbound(): void;
  allowInbound(): void;
  /** `ss -ltn` in the host's network namespace: its listening TCP sockets. */
  listeningSockets(): string[];
}

const run = (cmd: string, args: readonly string[]) =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A /24 in 10.254.0.0/16 that no interface of this machine uses, so routes cannot leak. */
function freeSubnet(): string {
  const used = run('ip', ['-4', '-o', 'addr', 'show']);
  for (let attempt = 0; attempt < 50; attempt++) {
    const subnet = `10.254.${randomInt(1, 250)}`;
    if (!used.includes(`${subnet}.`)) return subnet;
  }
  throw new Error('no free 10.254.x.0/24 subnet on this machine');
}

export async function startTestNetwork(): Promise<TestNetwork> {
  const id = randomBytes(3).toString('hex');
  const bridge = `bfbr${id}`;
  const subnet = freeSubnet();
  const gateway = `${subnet}.1`;
  const hosts: { netns: string; veth: string; sandbox: Sandbox }[] = [];
  run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  let stopped: Promise<void> | undefined;
  const network: TestNetwork = {
    gateway,
    async addHost(hostname) {
      const n = hosts.length + 1;
      if (n > 200) throw new Error('a test network holds at most 200 hosts');
      const netns = `bf${id}h${n}`;
      const veth = `bfv${id}h${n}`;
      const address = `${subnet}.${10 + n}`;
      run('ip', ['netns', 'add', netns]);
      const host = { netns, veth, sandbox: undefined as unknown as Sandbox };
      hosts.push(host);
      run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
      run('ip', ['link', 'set', veth, 'master', bridge, 'up']);
      const inNs = (...args: string[]) => run('ip', ['netns', 'exec', netns, ...args]);
      inNs('ip', 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      inNs('ip', 'link', 'set', 'eth0', 'up');
      inNs('ip', 'link', 'set', 'lo', 'up');
      host.sandbox = await startSandbox({ netns, hostname });
      return {
        hostname,
        address,
        netns,
        sandbox: host.sandbox,
        dropInbound: () =>
          inNs(
            'iptables',
            '-I',
            'INPUT',
            '-i',
            'eth0',
            '-p',
            'tcp',
            '--syn',
            '-j',
            'DROP',
            '-m',
            'comment',
            '--comment',
            'binfleet-test',
          ),
        allowInbound: () =>
          inNs(
            'iptables',
            '-D',
            'INPUT',
            '-i',
            'eth0',
            '-p',
            'tcp',
            '--syn',
            '-j',
            'DROP',
            '-m',
            'comment',
            '--comment',
            'binfleet-test',
          ),
        listeningSockets: () =>
          inNs('ss', '-ltnH')
            .split('\n')
            .filter((line) => line.trim() !== ''),
      };
    },
    stop() {
      stopped ??= (async () => {
        for (const host of hosts.reverse()) {
          await host.sandbox?.stop();
          try {
            run('ip', ['netns', 'del', host.netns]);
          } catch {
            // already gone
          }
        }
        try {
          run('ip', ['link', 'del', bridge]);
        } catch {
          // already gone
        }
      })();
      return stopped;
    },
  };
  try {
    run('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
    run('ip', ['link', 'set', bridge, 'up']);
  } catch (error) {
    await network.stop();
    throw error;
  }
  return network;
}
