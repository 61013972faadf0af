import type { channelEventSchemas } from '@binfleet/agent-contract';
import type { Db, Host, Wakeups } from '@binfleet/db';
import type { z } from 'zod';
import type { AuditService } from '../../services/audit.ts';
import { hostTopic, type DialOutCalls } from './dial-out-calls.ts';

export interface ChannelConfig {
  /** How often an open channel says something (an SSE comment) and marks itself alive. */
  readonly keepaliveMs: number;
  /** Open channels per host; one more replaces the oldest. */
  readonly maxPerHost: number;
}

type ChannelEvent = {
  [K in keyof typeof channelEventSchemas]: [K, z.input<(typeof channelEventSchemas)[K]>];
}[keyof typeof channelEventSchemas];

/**
 * The channels dial-out agents hold open, whichever replica they reached: one AgentChannel row each
 * (the cap and reachability are counted there), and one server-sent event stream; the host's newest
 * channel sends the host's due calls when woken (a new call, a channel of the host gone) and a keepalive comment every
 * keepaliveMs, which also marks the row alive. A replica that dies leaves rows whose seenAt goes stale.
 */
export class DialOutChannels {
  constructor(
    private readonly db: Db,
    private readonly wakeups: Wakeups,
    private readonly calls: DialOutCalls,
    private readonly audit: AuditService,
    private readonly config: ChannelConfig,
  ) {}

  /** Whether the host has a channel open now (on any replica): a dial-out host's reachability. */
  async connected(hostId: string): Promise<boolean> {
    return (await this.db.agentChannel.count({ where: { hostId, seenAt: { gte: this.freshSince() } } })) > 0;
  }

  /** Opens a channel for an authenticated host; the stream ends when `signal` aborts or the channel is replaced. */
  async open(host: Pick<Host, 'id' | 'hostname'>, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const channel = await this.db.agentChannel.create({ data: { hostId: host.id }, select: { id: true } });
    await this.enforceCap(host, channel.id);
    await this.calls.prune(host.id);
    const encoder = new TextEncoder();
    let closed = false;
    let stopAll = () => {};
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        const send = (...[event, data]: ChannelEvent) =>
          controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
        const close = async (reason?: string) => {
          if (closed) return;
          closed = true;
          clearInterval(keepalive);
          off();
          signal.removeEventListener('abort', onAbort);
          try {
            if (reason) send('close', { reason, reconnect: true });
            controller.close();
          } catch {
            // the client is gone already
          }
          await this.db.agentChannel.deleteMany({ where: { id: channel.id } }).catch(() => undefined);
          await this.calls.release(host.id, channel.id).catch(() => undefined);
        };
        stopAll = () => void close();
        const onAbort = () => void close();
        // One pass at a time; a wake during a pass makes one more.
        let running = false;
        let again = false;
        const pump = () => {
          if (closed) return;
          if (running) return void (again = true);
          running = true;
          void (async () => {
            do {
              again = false;
              const live = await this.db.agentChannel.findMany({
                where: { hostId: host.id, seenAt: { gte: this.freshSince() } },
                orderBy: [{ openedAt: 'desc' }, { id: 'desc' }],
                select: { id: true },
              });
              if (!live.some((c) => c.id === channel.id))
                return close('replaced by a newer channel of this host');
              // The newest channel delivers, and takes over what older ones held: an agent holds one
              // channel at a time, so an older one is most likely a connection that died unnoticed.
              if (live[0]!.id !== channel.id) continue;
              for (const call of await this.calls.claim(host.id, channel.id)) if (!closed) send('call', call);
            } while (again && !closed);
          })()
            .catch(() => close('the control plane could not read its calls'))
            .finally(() => (running = false));
        };
        const off = this.wakeups.on(hostTopic(host.id), pump);
        signal.addEventListener('abort', onAbort, { once: true });
        const keepalive = setInterval(() => {
          if (closed) return;
          try {
            controller.enqueue(encoder.encode(': keepalive\n\n'));
          } catch {
            return void close();
          }
          void this.db.agentChannel
            .updateMany({ where: { id: channel.id }, data: { seenAt: new Date() } })
            .then((r) => (r.count === 0 ? close('replaced by a newer channel of this host') : undefined))
            .catch(() => undefined);
        }, this.config.keepaliveMs);
        send('hello', { channelId: channel.id, keepaliveMs: this.config.keepaliveMs });
        if (signal.aborted) return void close();
        pump();
      },
      cancel: () => stopAll(),
    });
  }

  /** Stale rows go; beyond the cap, the oldest channels are replaced (audited) and told so when woken. */
  private async enforceCap(host: Pick<Host, 'id' | 'hostname'>, newest: string): Promise<void> {
    await this.db.agentChannel.deleteMany({ where: { hostId: host.id, seenAt: { lt: this.freshSince() } } });
    const open = await this.db.agentChannel.findMany({
      where: { hostId: host.id, id: { not: newest } },
      orderBy: { openedAt: 'desc' },
      select: { id: true, openedAt: true },
    });
    const replaced = open.slice(this.config.maxPerHost - 1);
    if (replaced.length === 0) return;
    await this.db.agentChannel.deleteMany({ where: { id: { in: replaced.map((c) => c.id) } } });
    await this.audit.record({
      actor: { id: null, name: `agent:${host.hostname}` },
      action: 'agent.channel-replaced',
      targets: [host.hostname],
      outcome: 'success',
      detail: `a new channel replaced ${replaced.length} older one(s) (at most ${this.config.maxPerHost} per host), opened ${replaced.map((c) => c.openedAt.toISOString()).join(', ')}`,
    });
    await this.wakeups.wake(hostTopic(host.id));
  }

  private freshSince(): Date {
    return new Date(Date.now() - 3 * this.config.keepaliveMs);
  }
}
