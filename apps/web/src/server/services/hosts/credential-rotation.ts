import type { Db, Host, SecretBox } from '@binfleet/db';
import { z } from 'zod';
import { ControlPlaneError } from '../../errors.ts';
import { hashToken, newToken } from '../../security/tokens.ts';
import type { AuditService } from '../audit.ts';
import { actorOf, type SessionUser } from '../auth.ts';
import { HOST_JSON_COLUMNS } from './snapshots.ts';

const credentialSchema = z.object({ agentToken: z.string().min(1), heartbeatToken: z.string().min(1) });

/** The pair a rotation hands an agent: the token the control plane calls it with, and its heartbeat credential. */
export type AgentCredential = z.output<typeof credentialSchema>;

export const agentTokenContext = (agentId: string) => `host:${agentId}:agentToken`;
const pendingContext = (agentId: string) => `host:${agentId}:pendingCredential`;

/**
 * Rotating a host's credentials as one action, without a moment in which the agent and the control
 * plane disagree: an admin asks, the new pair is offered on every heartbeat answer, and it replaces
 * the old one when the agent heartbeats with the new heartbeat credential. Until then both sides go
 * on with the old pair; from then on the old heartbeat credential is refused (RevokedHostCredential)
 * and the control plane calls the agent with the new token (the agent drops the old one on its first
 * call with the new one).
 */
export class CredentialRotation {
  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox,
    private readonly audit: AuditService,
  ) {}

  /**
   * Issues the host a new pair. A second rotation waits for the first to be taken into use: the agent
   * may already heartbeat with the first pair, and replacing it would lock that agent out.
   */
  async request(actor: SessionUser, hostId: string): Promise<{ askedAt: Date }> {
    const host = await this.db.host.findUnique({
      where: { id: hostId },
      select: { hostname: true, agentId: true },
    });
    if (!host) {
      await this.audit.record({
        actor: actorOf(actor),
        action: 'host.rotate-credential',
        targets: [hostId],
        outcome: 'failure',
        detail: 'no such host',
      });
      throw new ControlPlaneError('NOT_FOUND', 'No such host: it was removed, reload the list.');
    }
    const credential: AgentCredential = { agentToken: newToken('agent'), heartbeatToken: newToken('agent') };
    const askedAt = new Date();
    const issued = await this.db.host.updateMany({
      where: { id: hostId, pendingHeartbeatTokenHash: null },
      data: {
        pendingCredentialSealed: this.secrets.seal(JSON.stringify(credential), pendingContext(host.agentId)),
        pendingHeartbeatTokenHash: hashToken(credential.heartbeatToken),
        credentialRotationAskedAt: askedAt,
        credentialRotationAskedBy: actor.username,
      },
    });
    if (issued.count === 0) {
      const waiting = await this.db.host.findUnique({
        where: { id: hostId },
        select: { credentialRotationAskedAt: true, credentialRotationAskedBy: true },
      });
      const since = `issued ${waiting?.credentialRotationAskedAt?.toISOString() ?? 'earlier'} by ${waiting?.credentialRotationAskedBy ?? 'an admin'}`;
      await this.audit.record({
        actor: actorOf(actor),
        action: 'host.rotate-credential',
        targets: [host.hostname],
        outcome: 'failure',
        detail: `a new credential ${since} is not in use yet`,
      });
      throw new ControlPlaneError(
        'CONFLICT',
        `A new credential for ${host.hostname} was ${since} and its agent has not taken it into use yet (it does on its next heartbeat): wait for that, the host page shows it. If the agent is gone, remove the host instead.`,
      );
    }
    await this.audit.record({
      actor: actorOf(actor),
      action: 'host.rotate-credential',
      targets: [host.hostname],
      outcome: 'success',
      detail:
        'new credential issued: the agent gets it on its next heartbeat; the old one stays valid until the agent has used the new one',
    });
    return { askedAt };
  }

  /** The pair to hand the agent in a heartbeat's answer, while a rotation waits for it. */
  offer(host: Pick<Host, 'agentId' | 'pendingCredentialSealed'>): AgentCredential | undefined {
    if (!host.pendingCredentialSealed) return undefined;
    const opened = this.secrets.open(host.pendingCredentialSealed, pendingContext(host.agentId));
    return credentialSchema.parse(JSON.parse(opened));
  }

  /**
   * A heartbeat with a host's pending heartbeat credential: its agent has taken the new pair into use,
   * so it becomes the host's pair and the old heartbeat credential is revoked. Returns the host as it
   * is now, or undefined when no rotation waits for this credential.
   */
  async takeIntoUse(heartbeatTokenHash: string) {
    const host = await this.db.host.findUnique({
      where: { pendingHeartbeatTokenHash: heartbeatTokenHash },
      omit: HOST_JSON_COLUMNS,
    });
    const credential = host && this.offer(host);
    if (!host || !credential) return undefined;
    const now = new Date();
    const moved = await this.db.$transaction(async (tx) => {
      // Conditional: of two heartbeats racing here, one moves the pair, the other finds it moved.
      const { count } = await tx.host.updateMany({
        where: { id: host.id, pendingHeartbeatTokenHash: heartbeatTokenHash },
        data: {
          heartbeatTokenHash,
          agentTokenSealed: this.secrets.seal(credential.agentToken, agentTokenContext(host.agentId)),
          pendingCredentialSealed: null,
          pendingHeartbeatTokenHash: null,
          credentialRotatedAt: now,
        },
      });
      if (count === 0) return false;
      await tx.revokedHostCredential.create({
        data: {
          heartbeatTokenHash: host.heartbeatTokenHash,
          hostname: host.hostname,
          revokedBy: host.credentialRotationAskedBy ?? 'an admin',
          reason: 'rotated',
        },
      });
      await this.audit.record(
        {
          actor: { id: null, name: `agent:${host.hostname}` },
          action: 'host.credential-rotated',
          targets: [host.hostname],
          params: { askedBy: host.credentialRotationAskedBy },
          outcome: 'success',
          detail: 'the agent uses its new credential; the old one is revoked',
        },
        tx,
      );
      return true;
    });
    if (!moved)
      return (
        (await this.db.host.findUnique({ where: { heartbeatTokenHash }, omit: HOST_JSON_COLUMNS })) ??
        undefined
      );
    return this.db.host.findUniqueOrThrow({ where: { id: host.id }, omit: HOST_JSON_COLUMNS });
  }
}
