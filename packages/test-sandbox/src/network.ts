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
  /** What another process needs to add hosts to this network (joinTestNetwork). */
  readonly description: TestNetworkDescription;
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
  /** The host's firewall drops every inbound TCP connection, open ones included (replies to its own pass). */
  dropInbound(): void;
  allowInbound(): void;
  /** Every TCP packet in and out of the host is dropped (its own connections too), as a pulled cable. */
  cutLink(): void;
  restoreLink(): void;
  /** `ss -ltn` in the host's network namespace: its listening TCP sockets. */
  listeningSockets(): string[];
}

/** A network started elsewhere (e.g. by a test runner's global setup), as JSON can carry it. */
export interface TestNetworkDescription {
  readonly id: string;
  readonly bridge: string;
  readonly subnet: string;
  readonly gateway: string;
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

/**
 * Gives `bridge` the gateway address of a free /24, checked again once it is added: another process
 * (an integration file running beside this one) may have picked the same subnet between the look and
 * the add. Both then let go and pick again.
 */
function addGateway(bridge: string): string {
  for (let attempt = 0; attempt < 10; attempt++) {
    const subnet = freeSubnet();
    run('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', bridge]);
    const clash = run('ip', ['-4', '-o', 'addr', 'show'])
      .split('\n')
      .some((line) => line.includes(` ${subnet}.`) && !line.split(/\s+/).includes(bridge));
    if (!clash) return subnet;
    run('ip', ['addr', 'del', `${subnet}.1/24`, 'dev', bridge]);
  }
  throw new Error('no 10.254.x.0/24 subnet stayed free for this test network: retry the test');
}

export async function startTestNetwork(): Promise<TestNetwork> {
  const id = randomBytes(3).toString('hex');
  const bridge = `bfbr${id}`;
  run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  let subnet: string;
  try {
    subnet = addGateway(bridge);
  } catch (error) {
    run('ip', ['link', 'del', bridge]);
    throw error;
  }
  const gateway = `${subnet}.1`;
  const hosts = joinTestNetwork({ id, bridge, subnet, gateway });
  let stopped: Promise<void> | undefined;
  const network: TestNetwork = {
    ...hosts,
    stop() {
      stopped ??= hosts.stop().finally(() => {
        try {
          run('ip', ['link', 'del', bridge]);
        } catch {
          // already gone
        }
      });
      return stopped;
    },
  };
  try {
    run('ip', ['link', 'set', bridge, 'up']);
  } catch (error) {
    await network.stop();
    throw error;
  }
  return network;
}

/**
 * Hosts on a network another process started: their namespaces and links are this object's, the
 * bridge stays. Host numbers start at `first` so that several processes can add hosts to one network.
 */
export function joinTestNetwork(description: TestNetworkDescription, first = 1): TestNetwork {
  const { id, bridge, subnet, gateway } = description;
  const hosts: { netns: string; sandbox?: Sandbox }[] = [];
  let stopped: Promise<void> | undefined;
  return {
    gateway,
    description,
    async addHost(hostname) {
      const n = first + hosts.length;
      if (n > 240) throw new Error('a test network holds hosts 1 to 240');
      const netns = `bf${id}h${n}`;
      const veth = `bfv${id}h${n}`;
      const address = `${subnet}.${10 + n}`;
      run('ip', ['netns', 'add', netns]);
      const host: { netns: string; sandbox?: Sandbox } = { netns };
      hosts.push(host);
      run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
      run('ip', ['link', 'set', veth, 'master', bridge, 'up']);
      const inNs = (...args: string[]) => run('ip', ['netns', 'exec', netns, ...args]);
      inNs('ip', 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      inNs('ip', 'link', 'set', 'eth0', 'up');
      inNs('ip', 'link', 'set', 'lo', 'up');
      const sandbox = await startSandbox({ netns, hostname });
      host.sandbox = sandbox;
      // Every packet of a connection opened from outside (new and already open ones, so a kept-alive
      // connection breaks too); replies to connections the host opened itself still pass.
      const rule = [
        'INPUT',
        '-i',
        'eth0',
        '-p',
        'tcp',
        '-m',
        'conntrack',
        '--ctdir',
        'ORIGINAL',
        '-j',
        'DROP',
        '-m',
        'comment',
        '--comment',
        'binfleet-test',
      ];
      const comment = ['-m', 'comment', '--comment', 'binfleet-test-cut'];
      const cut = {
        in: ['INPUT', '-i', 'eth0', '-p', 'tcp', '-j', 'DROP', ...comment],
        out: ['OUTPUT', '-o', 'eth0', '-p', 'tcp', '-j', 'DROP', ...comment],
      };
      return {
        hostname,
        address,
        netns,
        sandbox,
        dropInbound: () => inNs('iptables', '-I', ...rule),
        allowInbound: () => inNs('iptables', '-D', ...rule),
        cutLink: () => {
          inNs('iptables', '-I', ...cut.in);
          inNs('iptables', '-I', ...cut.out);
        },
        restoreLink: () => {
          inNs('iptables', '-D', ...cut.in);
          inNs('iptables', '-D', ...cut.out);
        },
        listeningSockets: () =>
          inNs('ss', '-ltnH')
            .split('\n')
            .filter((line) => line.trim() !== ''),
      };
    },
    stop() {
      // The veth pair goes with its namespace.
      stopped ??= (async () => {
        for (const host of hosts.reverse()) {
          await host.sandbox?.stop();
          try {
            run('ip', ['netns', 'del', host.netns]);
          } catch {
            // already gone
          }
        }
      })();
      return stopped;
    },
  };
}
