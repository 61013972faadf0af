import {
  callResultInputSchema,
  type AgentCall as WireCall,
  type AgentProcedureName,
  type CallOutcome,
} from '@binfleet/agent-contract';
import type { AgentCall, Db, Host, Wakeups } from '@binfleet/db';
import type { AuditService } from '../../services/audit.ts';
import { AgentCallFailure } from '../agent-transport.ts';

/** What wakes a host's channels (a call for it, or one of them replaced). */
export const hostTopic = (hostId: string) => `host:${hostId}`;
/** What wakes the caller waiting for a call's result. */
const callTopic = (callId: string) => `call:${callId}`;

const FINAL = ['done', 'failed', 'expired'];

/**
 * Calls to dial-out agents, kept as AgentCall rows: the caller writes one and waits for it to be
 * final; a channel of the host claims it (a new attempt) and sends it; the agent's result for that
 * attempt makes it final, once. The database is the truth and Wakeups only says when to read it, so a
 * channel on another replica, a replica restarted, or a channel reconnected find every call still due.
 */
export class DialOutCalls {
  constructor(
    private readonly db: Db,
    private readonly wakeups: Wakeups,
    private readonly audit: AuditService,
  ) {}

  /** Writes the call, wakes the host's channels and resolves with the agent's output (or rejects with its error). */
  async call(
    host: Pick<Host, 'id' | 'hostname'>,
    procedure: AgentProcedureName,
    input: unknown,
    signal: AbortSignal,
    /** The caller's bound (the signal's): past it, no channel sends the call any more. */
    timeoutMs: number,
  ): Promise<unknown> {
    const deadline = new Date(Date.now() + timeoutMs);
    const row = await this.db.agentCall.create({
      data: {
        hostId: host.id,
        procedure,
        input: input === undefined ? null : JSON.stringify(input),
        deadline,
      },
      select: { id: true },
    });
    const outcome = await this.await(row.id, host, signal);
    if (outcome.ok) return outcome.output;
    throw new AgentCallFailure({ kind: 'refused', data: outcome.error.data }, outcome.error.message);
  }

  private async await(id: string, host: Pick<Host, 'id'>, signal: AbortSignal): Promise<CallOutcome> {
    let wake: () => void = () => {};
    const off = this.wakeups.on(callTopic(id), () => wake());
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = () => reject(signal.reason as Error);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      await this.wakeups.wake(hostTopic(host.id));
      // Bounded by the signal: every pass either ends or waits for the next wake.
      for (;;) {
        const woken = new Promise<void>((resolve) => (wake = resolve));
        const row = await this.db.agentCall.findUnique({
          where: { id },
          select: { status: true, outcome: true },
        });
        if (row && FINAL.includes(row.status) && row.outcome) return JSON.parse(row.outcome) as CallOutcome;
        await Promise.race([woken, aborted]);
      }
    } catch (error) {
      // Given up: final now, unless the result came in meanwhile (then it is the answer after all).
      const expired = await this.db.agentCall.updateMany({
        where: { id, status: { notIn: FINAL } },
        data: { status: 'expired', finishedAt: new Date() },
      });
      if (expired.count === 0) {
        const row = await this.db.agentCall.findUnique({ where: { id }, select: { outcome: true } });
        if (row?.outcome) return JSON.parse(row.outcome) as CallOutcome;
      }
      throw error;
    } finally {
      off();
    }
  }

  /**
   * The calls of `hostId` the channel `channelId` (the host's newest) should send now: every one not
   * final, not past its deadline and not sent on this channel yet. Each is claimed with a conditional
   * update (the attempt read), so two passes never both take it; each delivery is a new attempt.
   */
  async claim(hostId: string, channelId: string): Promise<WireCall[]> {
    const due = await this.db.agentCall.findMany({
      where: {
        hostId,
        status: { in: ['pending', 'delivered'] },
        deadline: { gt: new Date() },
        OR: [{ channelId: null }, { channelId: { not: channelId } }],
      },
      orderBy: { createdAt: 'asc' },
      take: 100,
    });
    const claimed: WireCall[] = [];
    for (const call of due) {
      const taken = await this.db.agentCall.updateMany({
        where: { id: call.id, attempt: call.attempt, status: { in: ['pending', 'delivered'] } },
        data: { attempt: call.attempt + 1, channelId, status: 'delivered' },
      });
      if (taken.count === 1) claimed.push(wireCall(call, call.attempt + 1));
    }
    return claimed;
  }

  /** Calls of a host past their deadline for a day (answered or not) go: a late result for one is refused all the same. */
  async prune(hostId: string): Promise<void> {
    await this.db.agentCall.deleteMany({
      where: { hostId, deadline: { lt: new Date(Date.now() - 86_400_000) } },
    });
  }

  /** A channel closed: what it held is due again (for the host's other channel, or the next one). */
  async release(hostId: string, channelId: string): Promise<void> {
    const released = await this.db.agentCall.updateMany({
      where: { channelId, status: 'delivered' },
      data: { channelId: null, status: 'pending' },
    });
    if (released.count > 0) await this.wakeups.wake(hostTopic(hostId));
  }

  /**
   * An agent's result: taken only for a call of this host, of its current attempt, not final yet.
   * Anything else (another host's call, a late attempt, a second answer, a malformed one) is
   * refused, audited, and changes nothing.
   */
  async result(host: Pick<Host, 'id' | 'hostname'>, raw: unknown): Promise<{ accepted: boolean }> {
    const parsed = callResultInputSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'result'}: ${i.message}`);
      await this.refused(host, undefined, `malformed result (${issues.slice(0, 3).join('; ')})`);
      return { accepted: false };
    }
    const { callId, attempt, outcome } = parsed.data;
    const taken = await this.db.agentCall.updateMany({
      where: { id: callId, hostId: host.id, attempt, status: 'delivered' },
      data: {
        status: outcome.ok ? 'done' : 'failed',
        outcome: JSON.stringify(outcome),
        finishedAt: new Date(),
      },
    });
    if (taken.count === 1) {
      await this.wakeups.wake(callTopic(callId));
      return { accepted: true };
    }
    const row = await this.db.agentCall.findUnique({
      where: { id: callId },
      select: { hostId: true, attempt: true, status: true },
    });
    const why = !row
      ? 'no such call'
      : row.hostId !== host.id
        ? "another host's call"
        : FINAL.includes(row.status)
          ? `the call is ${row.status} already`
          : `attempt ${attempt} is not the current one (${row.attempt})`;
    await this.refused(host, callId, why);
    return { accepted: false };
  }

  private refused(host: Pick<Host, 'hostname'>, callId: string | undefined, why: string) {
    return this.audit.record({
      actor: { id: null, name: `agent:${host.hostname}` },
      action: 'agent.call-result',
      targets: [host.hostname],
      outcome: 'denied',
      detail: `result refused: ${why}`,
      ...(callId ? { params: { callId } } : {}),
    });
  }
}

function wireCall(call: AgentCall, attempt: number): WireCall {
  return {
    id: call.id,
    attempt,
    procedure: call.procedure as AgentProcedureName,
    input: call.input === null ? undefined : JSON.parse(call.input),
  };
}
