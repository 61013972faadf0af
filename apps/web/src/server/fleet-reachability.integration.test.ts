import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import {
  CHROMIUM_ARGS,
  chromiumExecutable,
  startAgent,
  startTestNetwork,
  type AgentProcess,
  type NetworkHost,
  type TestNetwork,
} from '@binfleet/test-sandbox';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from './testing/fleet.ts';
import { until } from './testing/waiting.ts';

/**
 * Reachability and "needs attention" for hosts on a network of their own: each host is a network
 * namespace of the test's own with its own address and binfmt_misc, its agent listening on that
 * address, the control plane's web server on the test network's gateway. The host's own firewall
 * (iptables in its namespace) drops inbound connections: its heartbeats still arrive, but the
 * control plane's calls do not.
 */
const HEALTH_INTERVAL_MS = 3000;

type Reason = { kind: string; message: string };
type Row = {
  id: string;
  hostname: string;
  online: boolean;
  agentUrl: string;
  reach: { reachable: boolean | null; error: string | null; at: string | null };
  attention: Reason[];
};

describe('reachability of hosts on a network of their own', () => {
  let network: TestNetwork | undefined;
  let fleet: Fleet | undefined;
  const agents: AgentProcess[] = [];
  const hosts = new Map<string, NetworkHost>();
  afterAll(async () => {
    if (process.env.BINFLEET_TEST_DEBUG) console.log(fleet?.server.output().slice(-5000));
    await Promise.all(agents.map((a) => a.stop('SIGKILL').catch(() => undefined)));
    await fleet?.stop();
    await network?.stop();
  });

  beforeAll(async () => {
    network = await startTestNetwork();
    fleet = await startFleet({
      name: 'reachability',
      agents: 0,
      server: 'next',
      hostname: network.gateway,
      heartbeatIntervalMs: 1000,
      env: { BINFLEET_HEALTH_INTERVAL_MS: String(HEALTH_INTERVAL_MS) },
    });
  }, 600_000);

  const rows = async (filter: Record<string, unknown> = {}) =>
    (await fleet!.api.ok(fleet!.api.query<{ items: Row[] }>('fleet.hosts', { filter }))).items;
  const row = async (hostname: string) => (await rows()).find((r) => r.hostname === hostname);

  /** A host on the network, its agent listening on the host's own address and joined. */
  const addHost = async (hostname: string) => {
    const host = await network!.addHost(hostname);
    const { token } = await fleet!.joinToken();
    const agent = await startAgent(host.sandbox, {
      stateDir: mkdtempSync(join(fleet!.dir, `${hostname}-`)),
      args: [
        '--listen',
        '0.0.0.0:7475',
        '--server',
        fleet!.url,
        '--join-token',
        token,
        '--reconcile-interval',
        '1h',
        '--heartbeat-interval',
        '1s',
      ],
      startTimeoutMs: 120_000,
    });
    agents.push(agent);
    await agent.waitForLog((l) => l.event === 'joined', 120_000);
    hosts.set(hostname, host);
    return host;
  };

  it('checks a host right after it joins, turns it unreachable with the reason within two health intervals of its firewall dropping the port, and back', async () => {
    const host = await addHost('edge-1');
    const reached = await until('edge-1 checked', async () => {
      const r = await row('edge-1');
      return r?.reach.reachable === true && r;
    });
    expect(reached.agentUrl).toBe(`http://${host.address}:7475`);
    expect(reached.attention).toEqual([]);

    host.dropInbound();
    const droppedAt = Date.now();
    const unreachable = await until(
      'edge-1 unreachable',
      async () => {
        const r = await row('edge-1');
        return r?.reach.reachable === false && r;
      },
      60_000,
    );
    // Within two intervals: the check due next, plus the one after at worst, each ending at its timeout.
    expect(new Date(unreachable.reach.at!).getTime() - droppedAt).toBeLessThanOrEqual(2 * HEALTH_INTERVAL_MS);
    // Heartbeats still arrive: online, and unreachable.
    expect(unreachable.online).toBe(true);
    expect(unreachable.attention.map((r) => r.kind)).toEqual(['unreachable']);
    expect(unreachable.attention[0]!.message).toMatch(
      new RegExp(
        `^Heartbeats arrive, but the control plane cannot reach http://${host.address.replaceAll('.', '\\.')}:7475: The agent on edge-1 did not answer within \\d+ s.*; check that the agent listens there`,
      ),
    );
    const needing = await rows({ attention: true });
    expect(needing.map((r) => r.hostname)).toEqual(['edge-1']);
    const summary = await fleet!.api.ok(fleet!.api.query<{ attention: number }>('fleet.summary'));
    expect(summary.attention).toBe(1);

    host.allowInbound();
    const back = await until(
      'edge-1 reachable again',
      async () => {
        const r = await row('edge-1');
        return r?.reach.reachable === true && r;
      },
      60_000,
    );
    expect(back.attention).toEqual([]);
    expect(await rows({ attention: true })).toEqual([]);
  }, 300_000);

  it('a host with binfmt_misc unmounted needs attention, with the reason', async () => {
    const host = await addHost('edge-2');
    await until('edge-2 checked', async () => (await row('edge-2'))?.reach.reachable === true);
    const umount = await host.sandbox.exec('umount', [host.sandbox.mountPoint]);
    expect(umount.code, umount.stderr).toBe(0);
    // Below the sandbox's binfmt_misc is an empty directory (the sandbox shields the machine's own),
    // as on a host that never mounted it.
    expect((await host.sandbox.exec('test', ['-e', `${host.sandbox.mountPoint}/register`])).code).not.toBe(0);
    const flagged = await until(
      'edge-2 needs attention',
      async () => {
        const r = await row('edge-2');
        return r && r.attention.length > 0 && r;
      },
      60_000,
    );
    expect(flagged.attention.map((r) => r.kind)).toEqual(['binfmt-not-mounted']);
    expect(flagged.attention[0]!.message).toContain('binfmt_misc is not mounted');
    expect((await rows({ attention: true })).map((r) => r.hostname)).toEqual(['edge-2']);
  }, 300_000);

  it('the fleet page shows "no policy", never "in policy", and marks both hosts with their reasons (1440 and 390 px)', async () => {
    const edge1 = hosts.get('edge-1')!;
    edge1.dropInbound();
    try {
      await until(
        'edge-1 unreachable again',
        async () => (await row('edge-1'))?.reach.reachable === false,
        60_000,
      );
      // Screenshots to look at: BINFLEET_SCREENSHOTS names the folder, else the fleet's own.
      const out = process.env.BINFLEET_SCREENSHOTS ?? join(fleet!.dir, 'screenshots');
      mkdirSync(out, { recursive: true });
      const browser = await chromium.launch({
        executablePath: chromiumExecutable(),
        args: [...CHROMIUM_ARGS],
      });
      try {
        for (const width of [1440, 390]) {
          const context = await browser.newContext({ viewport: { width, height: 1000 } });
          await context.addCookies(
            fleet!.api.sessionHeaders.cookie.split('; ').map((c) => {
              const [name, ...value] = c.split('=');
              return { name: name!, value: value.join('='), url: fleet!.url };
            }),
          );
          const page = await context.newPage();
          await page.goto(`${fleet!.url}/fleet`);
          const card = page.getByRole('button', { name: /Show hosts that need attention$/ });
          await card.getByText('2', { exact: true }).waitFor();
          await page.getByText('no policy: drift is not computed').waitFor();
          await page.getByRole('img', { name: /^edge-1 needs attention: Heartbeats arrive/ }).waitFor();
          await page
            .getByRole('img', { name: /^edge-2 needs attention: binfmt_misc is not mounted/ })
            .waitFor();
          expect(await page.getByText('no policy', { exact: true }).count()).toBeGreaterThanOrEqual(2);
          expect(await page.getByText('in policy', { exact: true }).count()).toBe(0);
          await page.screenshot({ path: join(out, `fleet-${width}.png`), fullPage: true });
          await page.goto(`${fleet!.url}/fleet?attention=yes`);
          await page.getByRole('img', { name: /^edge-1 needs attention/ }).waitFor();
          await context.close();
        }
      } finally {
        await browser.close();
      }
    } finally {
      edge1.allowInbound();
    }
  }, 300_000);
});
