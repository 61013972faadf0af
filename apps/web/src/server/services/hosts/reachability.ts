import { eachWithConcurrency } from '@binfleet/concurrency';
import { PeriodicTick } from '../periodic.ts';
import type { Db } from '@binfleet/db';
import { AgentCallError } from '../../agents/agent-errors.ts';
import type { AgentGateway } from '../../agents/agent-gateway.ts';

export interface ReachabilityConfig {
  /** How often each host's agent is called; 0 turns health checks off. */
  readonly intervalMs: number;
  /** Health calls in flight at once on one replica. */
  readonly concurrency: number;
}

/** Hosts claimed by one tick at most: a bound on one pass, the rest is due on the next poll. */
const MAX_PER_TICK = 1000;

/**
 * Heartbeats prove that an agent reaches the control plane, not the reverse, which every job needs.
 * This calls each agent's authenticated `status` through the gateway, right after a join (a new
 * host's claim is null, so it is due at once) and then once per interval, and records whether it
 * answered, why not and when. On which replica: a host is claimed with a conditional update of
 * `reachClaimedAt` (only if its claim is the one read, and an interval old), so of several replicas
 * exactly one checks it per interval, as the catalogue sync and jobs are claimed.
 */
export class ReachabilityChecker {
  private readonly loop: PeriodicTick;

  constructor(
    private readonly db: Db,
    private readonly gateway: AgentGateway,
    private readonly config: ReachabilityConfig,
    /** Whether a dial-out host holds a channel open: its reachability, with no call made. */
    private readonly channelConnected: (hostId: string) => Promise<boolean>,
    private readonly log: (line: Record<string, unknown>) => void = (l) => console.log(JSON.stringify(l)),
  ) {
    this.loop = new PeriodicTick('health check', () => this.tick(), log);
  }

  start(): void {
    if (this.config.intervalMs <= 0) return;
    // Polled several times per interval, so that a new host is checked soon after it joins.
    this.loop.start(Math.max(200, Math.min(this.config.intervalMs / 4, 5_000)));
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Checks the hosts due at `now` that this replica claims; returns their ids. */
  async tick(now = new Date()): Promise<string[]> {
    if (this.config.intervalMs <= 0) return [];
    const due = new Date(now.getTime() - this.config.intervalMs);
    const candidates = await this.db.host.findMany({
      where: { OR: [{ reachClaimedAt: null }, { reachClaimedAt: { lte: due } }] },
      orderBy: { reachClaimedAt: { sort: 'asc', nulls: 'first' } },
      take: MAX_PER_TICK,
      select: { id: true, reachClaimedAt: true },
    });
    const checked: string[] = [];
    await eachWithConcurrency(candidates, this.config.concurrency, async (candidate) => {
      if (this.loop.stopped) return;
      const claimed = await this.db.host.updateMany({
        where: { id: candidate.id, reachClaimedAt: candidate.reachClaimedAt },
        data: { reachClaimedAt: now },
      });
      if (claimed.count !== 1) return;
      checked.push(candidate.id);
      await this.check(candidate.id);
    });
    return checked;
  }

  /** Calls one host's agent and records the outcome (a host removed meanwhile is left alone). */
  private async check(hostId: string): Promise<void> {
    const host = await this.db.host.findUnique({
      where: { id: hostId },
      select: {
        hostname: true,
        agentUrl: true,
        agentId: true,
        agentTokenSealed: true,
        reachable: true,
        transport: true,
      },
    });
    if (!host) return;
    let error: string | null = null;
    try {
      if (host.transport === 'dial-out') {
        if (!(await this.channelConnected(hostId)))
          error = `The agent on ${host.hostname} has no channel open to the control plane: check that binfleet-agent runs there and reaches the control plane's URL.`;
      } else await this.gateway.connect({ id: hostId, ...host }).status();
    } catch (e) {
      // A busy agent answered: it is reachable.
      if (!(e instanceof AgentCallError && e.code === 'RATE_LIMITED'))
        error = (e as Error).message.slice(0, 2000);
    }
    // Only if the agent URL is still the one called: a heartbeat that moved it made the result stale.
    await this.db.host.updateMany({
      where: { id: hostId, agentUrl: host.agentUrl },
      data: { reachable: error === null, reachError: error, reachCheckedAt: new Date() },
    });
    if (host.reachable !== (error === null))
      this.log({
        msg: error === null ? 'agent reachable' : 'agent unreachable',
        host: host.hostname,
        agentUrl: host.agentUrl,
        ...(error ? { error } : {}),
      });
  }
}
