import { procedureProblem, reportedContractVersion } from '@binfleet/agent-contract';
import type { Db, Host } from '@binfleet/db';
import type { AgentConnection } from '../../agents/agent-gateway.ts';
import { ControlPlaneError } from '../../errors.ts';
import type { AgentRelease } from '../agent-install/agent-release.ts';
import type { ActionOutcome } from '../job-actions.ts';

export interface AgentUpgradeConfig {
  /** How long to wait for a heartbeat that reports the new version. */
  readonly waitMs: number;
  readonly pollMs: number;
}

/**
 * The upgrade agent job on one host: asks its agent (through the gateway, whatever its transport)
 * to install the tarball this control plane serves, then waits, bounded, until a heartbeat reports
 * that version. The agent downloads from the control plane it joined and checks the sha256 it is
 * given; when it cannot, it keeps running and says why, which becomes the row's error.
 */
export class AgentUpgrades {
  constructor(
    private readonly db: Db,
    private readonly release: AgentRelease,
    private readonly config: AgentUpgradeConfig,
  ) {}

  async run(
    host: Pick<Host, 'id' | 'hostname' | 'agentVersion'>,
    agent: AgentConnection,
    /** Called while waiting, so that the row is not taken over by another runner meanwhile. */
    renewLease: () => Promise<unknown>,
  ): Promise<ActionOutcome> {
    const manifest = await this.release.manifest();
    const tarball = manifest.artifacts.find((a) => a.kind === 'tarball');
    if (!tarball)
      throw new ControlPlaneError(
        'NOT_FOUND',
        'This control plane serves no agent tarball to upgrade with: run `pnpm agent:package` in its checkout.',
      );
    const { version } = manifest;
    const { facts } = await this.db.host.findUniqueOrThrow({
      where: { id: host.id },
      select: { facts: true },
    });
    const problem = procedureProblem(
      'upgradeAgent',
      reportedContractVersion({ facts: (facts ?? {}) as Record<string, unknown> }),
    );
    if (problem) throw new ControlPlaneError('AGENT_FAILED', `${host.hostname}: ${problem}.`);
    const asked = new Date();
    const answer = await agent.upgradeAgent({
      file: tarball.file,
      sha256: tarball.sha256,
      size: tarball.size,
      version,
    });
    if (answer.status === 'restarting')
      await this.comesBack(host, version, answer.previousVersion, asked, renewLease);
    const entries = (await agent.status()).binfmt.entries.map((e) => e.entry);
    return { entries, detail: { ...answer, upgraded: answer.status === 'restarting' }, ok: true };
  }

  /** Until a heartbeat after `asked` reports `version`; a plain error after waitMs. */
  private async comesBack(
    host: Pick<Host, 'id' | 'hostname'>,
    version: string,
    previous: string,
    asked: Date,
    renewLease: () => Promise<unknown>,
  ): Promise<void> {
    const until = Date.now() + this.config.waitMs;
    let seen: { agentVersion: string | null; lastSeenAt: Date | null } | null = null;
    while (Date.now() < until) {
      seen = await this.db.host.findUnique({
        where: { id: host.id },
        select: { agentVersion: true, lastSeenAt: true },
      });
      if (!seen) throw new ControlPlaneError('NOT_FOUND', `${host.hostname} was removed during its upgrade.`);
      if (seen.agentVersion === version && seen.lastSeenAt && seen.lastSeenAt >= asked) return;
      await new Promise((resolve) => setTimeout(resolve, this.config.pollMs));
      await renewLease();
    }
    throw new ControlPlaneError(
      'AGENT_FAILED',
      `${host.hostname}: its agent installed ${version} and restarted, but no heartbeat reported ${version} within ${Math.round(this.config.waitMs / 1000)} s ` +
        `(last reported: ${seen?.agentVersion ?? 'none'}). See the agent's log on the host (journalctl -u binfleet-agent, or <prefix>/var/agent.log); ` +
        `${previous} is kept beside it: to go back, point <prefix>/current at versions/${previous} and restart the agent.`,
    );
  }
}
