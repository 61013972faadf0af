import { createHash } from 'node:crypto';
import { CONTRACT_VERSION, type Heartbeat, type HeartbeatAnswer, type Join } from '@binfleet/agent-contract';
import { z } from 'zod';
import { jsonValue, type Db, type SecretBox } from '@binfleet/db';
import { ControlPlaneError } from '../../errors.ts';
import { agentUrlForRecord, agentUrlProblem } from '../../security/agent-url.ts';
import { hashToken, newToken } from '../../security/tokens.ts';
import type { AuditService } from '../audit.ts';
import { agentTokenContext, type CredentialRotation } from './credential-rotation.ts';
import type { HostTiming } from './host-service.ts';
import { admitJoinToken, spendJoinToken } from './join-tokens.ts';
import {
  beatHost,
  keptHostWrite,
  type BeatHost,
  type HeartbeatHost,
  type HeartbeatSender,
} from './kept-heartbeats.ts';
import { entriesDigest, HOST_JSON_COLUMNS, type HostSnapshots } from './snapshots.ts';

export type { HeartbeatHost, HeartbeatSender } from './kept-heartbeats.ts';

/**
 * Runs a transaction again when it lost a race (CONFLICT): on PostgreSQL several agents joining with
 * one token at the same moment all read the same use count, and all but one must try again.
 */
async function retryOnConflict<T>(work: () => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof ControlPlaneError && error.code === 'CONFLICT') || attempt >= attempts)
        throw error;
      await new Promise((r) => setTimeout(r, 10 * attempt + Math.random() * 40));
    }
  }
}

function reconcileState(report: Pick<Heartbeat, 'reconcileError'>, now: Date) {
  const error = report.reconcileError;
  return {
    reconcileError: error?.message ?? null,
    reconcileErrorAt: error ? new Date(now.getTime() - error.ageMs) : null,
  };
}

const factColumnsSchema = z.object({
  agentVersion: z.string().max(64).optional(),
  binfmt: z.object({ mounted: z.boolean(), writable: z.boolean() }).optional(),
});

/** What "needs attention" reads from the facts, as columns; facts an agent did not send are null. */
function factColumns(sent: Record<string, unknown>) {
  const facts = factColumnsSchema.safeParse(sent);
  return {
    agentVersion: (facts.success && facts.data.agentVersion) || null,
    binfmtMounted: facts.success ? (facts.data.binfmt?.mounted ?? null) : null,
    binfmtWritable: facts.success ? (facts.data.binfmt?.writable ?? null) : null,
  };
}

/**
 * The digest of facts as stored (their JSON): `held.facts` in heartbeat answers. With this control
 * plane's contract version in it: after an upgrade, every agent sends its facts once more, and the
 * contract version in them is checked again (agentApi.heartbeat).
 */
const factsDigest = (json: string) =>
  createHash('sha256').update(`${CONTRACT_VERSION}\0`).update(json).digest('hex');

/**
 * What a heartbeat names in `unchanged` that `host` does not hold (its facts or entries changed since
 * the agent's last heartbeat said them: a job's entries, another heartbeat, an older database): the
 * agent must send them in full.
 */
function unheldDigests(host: Pick<BeatHost, 'factsHash' | 'entriesHash'>, report: Heartbeat): boolean {
  const named = report.unchanged;
  return (
    (named?.facts !== undefined && named.facts !== host.factsHash) ||
    (named?.entries !== undefined && named.entries !== host.entriesHash)
  );
}

/** A host's reachability as not known yet, and its health check due now (a join, a new agent URL). */
const REACH_UNKNOWN = { reachable: null, reachError: null, reachCheckedAt: null, reachClaimedAt: null };

/**
 * What a heartbeat did: the host as it is after it, the digests of what it carried (`held`), why the
 * URL it advertised was refused; or `resend` (it named digests the host does not hold, and nothing
 * was written).
 */
export type BeatOutcome =
  | { host: BeatHost; held: NonNullable<HeartbeatAnswer['held']>; agentUrlRefused?: string; resend?: never }
  | { host: HeartbeatHost | BeatHost; resend: true };

/** Hosts kept per process at most (a few hundred bytes each): one per heartbeating host of a large fleet. */
const MAX_KEPT_SENDERS = 100_000;

/**
 * Agents joining the fleet with a join token, then reporting on heartbeats with the credential the
 * join gave them.
 */
export class Enrolment {
  /**
   * Each host's row as this process last wrote it on a heartbeat, by the hash of its heartbeat
   * credential: its next heartbeat is then one conditional write instead of a read and a write.
   */
  private readonly kept = new Map<string, BeatHost>();

  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox,
    private readonly audit: AuditService,
    private readonly timing: Pick<HostTiming, 'heartbeatIntervalMs' | 'agentUrlAllow'>,
    private readonly snapshots: HostSnapshots,
    private readonly credentials: CredentialRotation,
    private readonly log: (line: Record<string, unknown>) => void,
  ) {}

  /**
   * An agent joins with a join token: it gets two fresh secrets, one the server uses to call it (kept
   * sealed) and one it presents on heartbeats (kept hashed). The same agentId re-joining updates its
   * row, so a restarted agent never shows up twice; but only when it proves it is that agent, with the
   * heartbeat credential it got at its last join: an agent id is no secret, and a join token alone
   * must not take over a host (its jobs, and the calls the server makes with its credential).
   */
  async join(input: Join) {
    // A dial-out agent has no URL: the control plane never connects to it, so there is nothing to check.
    const dialOut = input.transport === 'dial-out';
    const agentUrl = dialOut ? '' : (input.agentUrl ?? '');
    const urlProblem = dialOut ? undefined : agentUrlProblem(agentUrl, this.timing.agentUrlAllow ?? []);
    if (urlProblem)
      throw new ControlPlaneError(
        'INVALID_INPUT',
        `Cannot join: the agent URL ${JSON.stringify(agentUrlForRecord(agentUrl).slice(0, 200))} is refused (${urlProblem}). Start the agent with --advertise-url set to an http(s) address the control plane may call, or with --dial-out.`,
      );
    const now = new Date();
    const agentToken = newToken('agent');
    const heartbeatToken = newToken('agent');
    const host = await retryOnConflict(() =>
      this.db.$transaction(async (tx) => {
        const jt = await admitJoinToken(tx, input.joinToken, now);
        const existing = await tx.host.findUnique({
          where: { agentId: input.agentId },
          select: { heartbeatTokenHash: true, pendingHeartbeatTokenHash: true, hostname: true },
        });
        // Mid-rotation, the agent may hold the new heartbeat credential already.
        const proof = input.heartbeatToken === undefined ? undefined : hashToken(input.heartbeatToken);
        if (
          existing &&
          (proof === undefined ||
            (proof !== existing.heartbeatTokenHash && proof !== existing.pendingHeartbeatTokenHash))
        ) {
          // Refused outside the transaction, so that its audit event is not rolled back with it.
          return {
            refused: {
              kind: 'agent-id',
              takenBy: existing.hostname,
              credentialSent: input.heartbeatToken !== undefined,
            },
          } as const;
        }
        // Hostnames are unique in a fleet. Checked once the join token is admitted: whoever holds
        // none learns nothing about which names are taken.
        const hostname = input.hostname.toLowerCase();
        const namesake = await tx.host.findFirst({
          where: { hostname, agentId: { not: input.agentId } },
          select: { lastSeenAt: true },
        });
        if (namesake) return { refused: { kind: 'hostname', lastSeenAt: namesake.lastSeenAt } } as const;
        await spendJoinToken(tx, jt, now);
        const data = {
          hostname,
          agentUrl,
          transport: input.transport,
          agentTokenSealed: this.secrets.seal(agentToken, agentTokenContext(input.agentId)),
          heartbeatTokenHash: hashToken(heartbeatToken),
          // A join gives a fresh pair: a rotation under way has nothing left to replace.
          pendingCredentialSealed: null,
          pendingHeartbeatTokenHash: null,
          arch: input.arch ?? null,
          kernel: input.kernel ?? null,
          dockerVersion: input.dockerVersion ?? null,
          facts: jsonValue(input.facts),
          factsHash: factsDigest(JSON.stringify(input.facts)),
          ...factColumns(input.facts),
          ...reconcileState(input, now),
          ...REACH_UNKNOWN,
          refusedAgentUrl: null,
          joinTokenId: jt.id,
          lastSeenAt: now,
        };
        return tx.host.upsert({
          where: { agentId: input.agentId },
          create: { agentId: input.agentId, ...data },
          update: data,
        });
      }),
    );
    if ('refused' in host) return this.refuseJoin(input, host.refused);
    await this.snapshots.record(host.id, input.entries, now);
    await this.audit.record({
      actor: { id: null, name: `agent:${input.hostname}` },
      action: 'host.join',
      targets: [input.hostname],
      params: { agentUrl, transport: input.transport },
      outcome: 'success',
    });
    return {
      hostId: host.id,
      agentToken,
      heartbeatToken,
      heartbeatIntervalMs: this.timing.heartbeatIntervalMs,
      transport: input.transport,
    };
  }

  /** A join refused inside its transaction: audited (outside it, so the event stays), then thrown. */
  private async refuseJoin(
    input: Join,
    refusal:
      | { readonly kind: 'agent-id'; readonly takenBy: string; readonly credentialSent: boolean }
      | { readonly kind: 'hostname'; readonly lastSeenAt: Date | null },
  ): Promise<never> {
    const hostname = input.hostname.toLowerCase();
    const taken = refusal.kind === 'agent-id' ? refusal.takenBy : hostname;
    await this.audit.record({
      actor: { id: null, name: `agent:${input.hostname}` },
      action: 'host.join',
      targets: [taken],
      params: { agentId: input.agentId, agentUrl: input.agentUrl, hostname: input.hostname },
      outcome: 'denied',
      detail:
        refusal.kind === 'agent-id'
          ? `agent id ${input.agentId} belongs to host ${refusal.takenBy}; the join ${refusal.credentialSent ? "carried another host's or an unknown" : 'carried no'} heartbeat credential`
          : `another host is named ${hostname}`,
    });
    if (refusal.kind === 'agent-id')
      throw new ControlPlaneError(
        'FORBIDDEN',
        `Cannot join: agent id ${input.agentId} already belongs to host ${refusal.takenBy}, and this agent did not present that host's credential. If this is a reinstall or a copy of that host, remove ${refusal.takenBy} in the dashboard (Fleet > host > Remove from fleet) and join again, or reset this agent's link (delete fleet-link.json in its state directory) to join as a new host.`,
      );
    const seen = refusal.lastSeenAt ? `last seen ${refusal.lastSeenAt.toISOString()}` : 'never seen';
    throw new ControlPlaneError(
      'CONFLICT',
      `Cannot join: another host in this fleet is named ${hostname} (${seen}), and hostnames are unique in a fleet. If this machine replaces it (a reinstall, a new VM), remove ${hostname} in the dashboard (Fleet > ${hostname} > Remove from fleet) and start the agent again; otherwise give this machine its own hostname. The join token was not used up.`,
    );
  }

  /**
   * The host a heartbeat credential belongs to, or an error the agent can act on. The first heartbeat
   * with a rotated credential takes it into use (credential-rotation.ts).
   */
  async hostForHeartbeat(token: string | undefined): Promise<HeartbeatHost> {
    const hash = token === undefined ? undefined : hashToken(token);
    const host = hash
      ? ((await this.db.host.findUnique({ where: { heartbeatTokenHash: hash }, omit: HOST_JSON_COLUMNS })) ??
        (await this.credentials.takeIntoUse(hash)))
      : undefined;
    if (!host && hash) await this.refuseRevoked(hash);
    if (!host)
      throw new ControlPlaneError(
        'UNAUTHENTICATED',
        'Unknown agent credential: join again with a join token.',
      );
    return host;
  }

  /**
   * Who sends a heartbeat with `token`: the host kept from its last heartbeat here, else as
   * hostForHeartbeat finds it (an unknown or revoked credential is refused here). A kept host is
   * checked when the heartbeat writes: a credential revoked since is refused then (beat()).
   */
  async heartbeatSender(token: string | undefined): Promise<HeartbeatSender> {
    const hash = token === undefined ? undefined : hashToken(token);
    const kept = hash === undefined ? undefined : this.kept.get(hash);
    if (hash !== undefined && kept) return { hash, kept };
    return { read: await this.hostForHeartbeat(token) };
  }

  /**
   * A heartbeat from `sender` (heartbeatSender): stores it, and returns the host as it is after it.
   * A kept host is written only if the row still has what the heartbeat decides by (decidedBy): if
   * anything else changed it (a group, a removal, a rotation, another replica's heartbeat), the row is
   * read again by the credential, and the heartbeat goes the long way (refused if the credential was
   * revoked meanwhile).
   */
  async beat(
    sender: HeartbeatSender,
    token: string | undefined,
    report: Heartbeat,
    now = new Date(),
  ): Promise<BeatOutcome> {
    // A rename is decided on the row as it is (a clash is audited): never on a kept one.
    if ('kept' in sender && report.hostname.toLowerCase() === sender.kept.hostname) {
      let done;
      try {
        done = await this.write(sender.kept, report, now, sender.hash);
      } catch (error) {
        // Whatever failed, the next heartbeat goes the long way.
        this.kept.delete(sender.hash);
        throw error;
      }
      if (done) return done;
    }
    if ('kept' in sender) this.kept.delete(sender.hash);
    const host = 'read' in sender ? sender.read : await this.hostForHeartbeat(token);
    // Unconditional: it returns the host written.
    return (await this.write(host, report, now))!;
  }

  /**
   * A removed host's agent, or a credential a rotation replaced: refused saying so, and the first
   * refusal audited, naming the host.
   */
  private async refuseRevoked(heartbeatTokenHash: string): Promise<void> {
    const revoked = await this.db.revokedHostCredential.findUnique({ where: { heartbeatTokenHash } });
    if (!revoked) return;
    const first = await this.db.revokedHostCredential.updateMany({
      where: { heartbeatTokenHash, firstRefusedAt: null },
      data: { firstRefusedAt: new Date() },
    });
    const rotated = revoked.reason === 'rotated';
    const when = revoked.revokedAt.toISOString();
    if (first.count === 1)
      await this.audit.record({
        actor: { id: null, name: `agent:${revoked.hostname}` },
        action: 'host.heartbeat',
        targets: [revoked.hostname],
        outcome: 'denied',
        detail: rotated
          ? `credential replaced at ${when} by a rotation ${revoked.revokedBy} asked for: the old one is revoked`
          : `host removed by ${revoked.revokedBy} at ${when}: its credential is revoked`,
      });
    throw new ControlPlaneError(
      'UNAUTHENTICATED',
      rotated
        ? `This credential of host ${revoked.hostname} was replaced at ${when} (a rotation ${revoked.revokedBy} asked for) and is revoked; its agent uses the new one. An agent still presenting it lost its state directory or is a copy of that host: join it again with a new join token (delete fleet-link.json in the agent's state directory first).`
        : `This host (${revoked.hostname}) was removed from the fleet by ${revoked.revokedBy} and its credential revoked: run binfleet-agent-uninstall on it, or join it again with a new join token (delete fleet-link.json in the agent's state directory first).`,
    );
  }

  /**
   * Writes a heartbeat on `host`; with `ifUnchanged` (its credential's hash) only while the row has
   * what the heartbeat decides by, else returns undefined. Keeps the row as written for the next one.
   * An agent restarted on another address advertises a new URL: it is followed when it passes the
   * rule a join's URL passes; otherwise the host keeps the URL it had, and the refusal is audited once
   * per refused URL, not on every heartbeat (returned, for the agent to log).
   */
  private async write(
    host: BeatHost,
    report: Heartbeat,
    now: Date,
    ifUnchanged?: string,
  ): Promise<BeatOutcome | undefined> {
    // Named by digests this row does not have: a kept row is read again first (another replica may
    // have written what the agent named); on the row as read, nothing is written, and the agent sends
    // its facts and entries in full right away.
    if (unheldDigests(host, report)) return ifUnchanged === undefined ? { host, resend: true } : undefined;
    const factsJson = report.facts === undefined ? undefined : JSON.stringify(report.facts);
    const factsHash = factsJson === undefined ? report.unchanged!.facts! : factsDigest(factsJson);
    const entriesHash =
      report.entries === undefined ? report.unchanged!.entries! : entriesDigest(report.entries);
    const advertised = report.agentUrl;
    const moved = advertised !== undefined && advertised !== host.agentUrl;
    const refused = moved ? agentUrlProblem(advertised, this.timing.agentUrlAllow ?? []) : undefined;
    const recorded = advertised === undefined ? undefined : agentUrlForRecord(advertised);
    const hostname = await this.hostnameToKeep(host, report.hostname.toLowerCase());
    const columns = {
      hostname,
      arch: report.arch ?? null,
      kernel: report.kernel ?? null,
      dockerVersion: report.dockerVersion ?? null,
      // Facts named as unchanged leave theirs, and their columns, as they are.
      ...(report.facts === undefined ? {} : { ...factColumns(report.facts), factsHash }),
      ...reconcileState(report, now),
      ...(moved && !refused ? { agentUrl: advertised, ...REACH_UNKNOWN } : {}),
      refusedAgentUrl: refused ? (recorded ?? null) : null,
      lastSeenAt: now,
    };
    if (ifUnchanged !== undefined) {
      const count = await this.db.$executeRaw(
        keptHostWrite(
          host,
          ifUnchanged,
          factsJson === undefined ? columns : { ...columns, facts: factsJson },
          now,
        ),
      );
      if (count === 0) return undefined;
    } else {
      // Not the row back: Prisma returned (and decoded) every column, the facts and entries JSON too.
      await this.db.host.update({
        where: { id: host.id },
        data: { ...columns, ...(report.facts === undefined ? {} : { facts: jsonValue(report.facts) }) },
        select: { id: true },
      });
    }
    // Entries named as unchanged are the host's latest snapshot's (unheldDigests): nothing to record.
    const entriesRecorded =
      report.entries === undefined
        ? 'same'
        : await this.snapshots.recordSeen(
            host.id,
            report.entries,
            new Date(now.getTime() - (report.entriesAgeMs ?? 0)),
            host,
            entriesHash,
          );
    const entriesChanged = entriesRecorded === 'new';
    // Entries dropped for a newer view the host has are not held: the agent sends its next ones.
    const held = { facts: factsHash, ...(entriesRecorded === 'older' ? {} : { entries: entriesHash }) };
    const written = beatHost({ ...host, ...columns });
    // New entries moved the row's entries columns: the next heartbeat reads it again.
    if (entriesChanged) this.kept.delete(host.heartbeatTokenHash);
    else this.keep(written);
    if (moved && (!refused || recorded !== host.refusedAgentUrl)) {
      this.log({
        msg: refused ? 'agent URL refused' : 'agent URL changed',
        host: hostname,
        from: host.agentUrl,
        to: recorded,
        ...(refused ? { reason: refused } : {}),
      });
      await this.audit.record({
        actor: { id: null, name: `agent:${hostname}` },
        action: 'host.agent-url',
        targets: [hostname],
        params: { from: host.agentUrl, to: recorded },
        outcome: refused ? 'denied' : 'success',
        ...(refused ? { detail: `kept ${host.agentUrl}: ${refused}` } : {}),
      });
    }
    return refused ? { host: written, held, agentUrlRefused: refused } : { host: written, held };
  }

  private keep(host: BeatHost): void {
    this.kept.delete(host.heartbeatTokenHash);
    // The one kept longest without a heartbeat goes first (a Map iterates in insertion order).
    if (this.kept.size >= MAX_KEPT_SENDERS) this.kept.delete(this.kept.keys().next().value!);
    this.kept.set(host.heartbeatTokenHash, host);
  }

  /**
   * Hostnames are unique in a fleet: a host that renames itself to another host's name keeps its own
   * (the refusal is audited once per name it asks for, under both hosts' names).
   */
  private async hostnameToKeep(host: { id: string; hostname?: string }, wanted: string): Promise<string> {
    if (host.hostname === undefined || wanted === host.hostname) return wanted;
    const clash = await this.db.host.findFirst({
      where: { hostname: wanted, id: { not: host.id } },
      select: { id: true },
    });
    if (!clash) return wanted;
    const detail = `kept ${host.hostname}: another host is named ${wanted}`;
    const audited = await this.db.auditEvent.findFirst({
      where: { action: 'host.rename', outcome: 'denied', subjects: `|${host.hostname}|${wanted}|`, detail },
      select: { id: true },
    });
    if (!audited) {
      this.log({ msg: 'hostname refused', host: host.hostname, wanted });
      await this.audit.record({
        actor: { id: null, name: `agent:${host.hostname}` },
        action: 'host.rename',
        targets: [host.hostname, wanted],
        outcome: 'denied',
        detail,
      });
    }
    return host.hostname;
  }
}
