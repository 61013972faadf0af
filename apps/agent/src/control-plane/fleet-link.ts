import { controlPlaneApi, type AgentTransportKind } from '@binfleet/agent-contract';
import type { KernelEntry } from '@binfleet/arch-table';
import { AgentError } from '../errors.ts';
import type { AgentService } from '../services/agent-service.ts';
import type { LogRecord } from '../services/reconciler.ts';
import type { StateStore } from '../adapters/state-store.ts';
import { ControlPlaneClient } from './control-plane-client.ts';

/**
 * A digest the control plane answered for facts or entries, with what this agent sent: the objects
 * (the agent answers the same ones while nothing in them changed) and their JSON, made only when the
 * objects alone cannot tell.
 */
class Held {
  private text: string | undefined;
  constructor(
    readonly digest: string,
    private readonly sent: object,
  ) {}

  /** Whether `now` is what was sent: the same objects, or failing that the same JSON. */
  sameAs(now: object): boolean {
    if (now === this.sent || sameItems(now, this.sent)) return true;
    return (this.text ??= JSON.stringify(this.sent)) === JSON.stringify(now);
  }
}

/** Two arrays of the same objects, in the same order. */
function sameItems(a: object, b: object): boolean {
  return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => item === b[i]);
}

/** Whether two control-plane URLs name the same server (a trailing slash aside). */
function sameServer(a: string, b: string): boolean {
  try {
    return new URL(a).href.replace(/\/+$/, '') === new URL(b).href.replace(/\/+$/, '');
  } catch {
    return false;
  }
}

/**
 * The agent's side of a fleet: joins a control plane with a join token (getting the credential the
 * server will call this agent with, and one for its own heartbeats), then reports its facts and
 * kernel entries on every heartbeat. The link is kept in the state directory, so a restarted agent
 * goes on heartbeating without a new join token.
 */
export class FleetLink {
  private timer: NodeJS.Timeout | undefined;
  private intervalMs: number;
  private failures = 0;
  private stopped = false;
  /** What the control plane last said about our advertised URL: each refusal is logged once. */
  private urlRefusal: string | undefined;
  /**
   * The digests the control plane answered for the facts and entries of the last heartbeat it took,
   * each with its JSON as this agent had it: while they are the same, a heartbeat names them by these
   * instead of sending them (most heartbeats, tens of kilobytes each). Forgotten on a heartbeat that
   * failed: the next one goes in full (a control plane rolled back to one without digests takes it).
   */
  private held: { facts?: Held; entries?: Held } = {};

  constructor(
    private readonly agent: AgentService,
    private readonly store: StateStore,
    private readonly options: {
      /** Where the control plane calls this agent; none for a dial-out agent. */
      readonly advertiseUrl?: string;
      readonly transport: AgentTransportKind;
      readonly intervalMs?: number;
      readonly log: (r: LogRecord) => void;
      /**
       * Makes a new API token the one the HTTP server accepts, beside the old one until the control
       * plane first presents it, and keeps both in the state store (a credential rotation).
       */
      readonly adoptApiToken: (token: string) => Promise<void>;
    },
  ) {
    this.intervalMs = options.intervalMs ?? 15_000;
  }

  /**
   * Joins `serverUrl`; returns the API token the server will present, so the caller can make it the
   * agent's token (only its hash is kept). Re-joining keeps the agent's id: the server updates its row.
   */
  async join(serverUrl: string, joinToken: string): Promise<string> {
    const file = await this.store.readFleetLink();
    // Joined this server before: prove it is this agent with the credential it gave us (the server
    // refuses a known agent id without it). Never shown to another server.
    const proof =
      file.link && sameServer(file.link.serverUrl, serverUrl) ? file.link.heartbeatToken : undefined;
    const answer = await new ControlPlaneClient(serverUrl).mutation(controlPlaneApi.join, {
      joinToken,
      agentId: file.agentId,
      ...(this.options.advertiseUrl ? { agentUrl: this.options.advertiseUrl } : {}),
      // Only when dialing out: a control plane of before dial-out refuses fields it does not know.
      ...(this.options.transport === 'dial-out' ? { transport: 'dial-out' as const } : {}),
      ...(proof ? { heartbeatToken: proof } : {}),
      ...(await this.report()),
    });
    await this.store.writeFleetLink({
      ...file,
      link: {
        serverUrl,
        hostId: answer.hostId,
        heartbeatToken: answer.heartbeatToken,
        transport: answer.transport,
      },
    });
    this.intervalMs = this.options.intervalMs ?? answer.heartbeatIntervalMs;
    this.held = {};
    this.options.log({
      event: 'joined',
      server: serverUrl,
      hostId: answer.hostId,
      transport: answer.transport,
      ...(answer.contractVersion === undefined ? {} : { serverContractVersion: answer.contractVersion }),
    });
    return answer.agentToken;
  }

  /**
   * The heartbeat credential in use (a rotation replaces it), once start() has read the link: a
   * dial-out channel authenticates its connection and results with it.
   */
  get heartbeatToken(): string | undefined {
    return this.currentHeartbeatToken;
  }
  private currentHeartbeatToken: string | undefined;

  /** Heartbeats until stop(), when this agent has joined a control plane. */
  async start(): Promise<boolean> {
    const { link } = await this.store.readFleetLink();
    if (!link) return false;
    const client = new ControlPlaneClient(link.serverUrl);
    this.currentHeartbeatToken = link.heartbeatToken;
    const beat = async () => {
      if (this.stopped) return;
      this.nextBeat = undefined;
      this.soon = false;
      let confirmNow = false;
      try {
        const { facts, entries, ...report } = await this.report();
        const { facts: heldFacts, entries: heldEntries } = this.held;
        const sameFacts = heldFacts?.sameAs(facts) ?? false;
        const sameEntries = heldEntries?.sameAs(entries) ?? false;
        // The URL on every beat: an agent restarted on another address is followed without a re-join.
        const answer = await client.mutation(
          controlPlaneApi.heartbeat,
          {
            ...(this.options.advertiseUrl ? { agentUrl: this.options.advertiseUrl } : {}),
            ...report,
            ...(sameFacts ? {} : { facts }),
            ...(sameEntries ? {} : { entries }),
            ...(sameFacts || sameEntries
              ? {
                  unchanged: {
                    ...(sameFacts ? { facts: heldFacts!.digest } : {}),
                    ...(sameEntries ? { entries: heldEntries!.digest } : {}),
                  },
                }
              : {}),
          },
          this.currentHeartbeatToken,
        );
        // A control plane holding other facts or entries recorded nothing: all of it again, at once.
        // One that answers no digests (older ones) gets all of it every time.
        const held = answer.resend ? undefined : answer.held;
        this.held = {
          ...(held?.facts ? { facts: new Held(held.facts, facts) } : {}),
          ...(held?.entries ? { entries: new Held(held.entries, entries) } : {}),
        };
        if (answer.resend) confirmNow = true;
        if (answer.newCredential) {
          this.currentHeartbeatToken = await this.adoptCredential(answer.newCredential);
          // The next beat, with the new credential, is what tells the control plane to switch: now.
          confirmNow = true;
        }
        if (this.failures > 0) this.options.log({ event: 'heartbeat-restored', server: link.serverUrl });
        this.failures = 0;
        this.intervalMs = this.options.intervalMs ?? answer.heartbeatIntervalMs;
        if (answer.agentUrlRefused && answer.agentUrlRefused !== this.urlRefusal)
          this.options.log({
            event: 'advertise-url-refused',
            level: 'warn',
            url: this.options.advertiseUrl,
            message: `The control plane refused this URL (${answer.agentUrlRefused}) and goes on calling this agent at the one it had: fix --advertise-url.`,
          });
        this.urlRefusal = answer.agentUrlRefused;
      } catch (error) {
        this.held = {};
        this.failures++;
        // Log the first failure and then every tenth, not every beat of a long outage.
        if (this.failures === 1 || this.failures % 10 === 0) {
          const refused = error instanceof AgentError && error.code === 'CONTROL_PLANE_REFUSED';
          this.options.log({
            event: 'heartbeat-failed',
            level: 'warn',
            failures: this.failures,
            message: refused ? `${error.message}: join again with --join-token.` : (error as Error).message,
          });
        }
      }
      if (!this.stopped) {
        this.nextBeat = beat;
        this.timer = setTimeout(
          beat,
          confirmNow || (this.soon && this.failures === 0)
            ? 0
            : Math.min(this.intervalMs * 2 ** Math.min(this.failures, 3), 300_000),
        );
      }
    };
    await beat();
    return true;
  }

  /**
   * Keeps a credential pair the control plane issued, each file written atomically and in this order:
   * the API token first (the old one stays accepted), then the heartbeat credential. A crash between
   * the two leaves the old heartbeat credential in use, and the next answer offers the pair again.
   * Returns the heartbeat credential to present from now on.
   */
  private async adoptCredential(credential: { agentToken: string; heartbeatToken: string }) {
    await this.options.adoptApiToken(credential.agentToken);
    const file = await this.store.readFleetLink();
    if (!file.link)
      throw new AgentError(
        'STATE_CORRUPT',
        'The control-plane link vanished from the state directory: join again.',
      );
    await this.store.writeFleetLink({
      ...file,
      link: { ...file.link, heartbeatToken: credential.heartbeatToken },
    });
    this.options.log({
      event: 'credential-rotated',
      message:
        'The control plane issued this agent a new credential: kept in the state directory, in use from the next heartbeat.',
    });
    return credential.heartbeatToken;
  }

  /**
   * Sends the next heartbeat now instead of at the interval (facts read since are in it): at once
   * when one is waiting, right after the one on its way otherwise. Not while beats fail (they back off).
   */
  beatSoon(): void {
    this.soon = true;
    const next = this.nextBeat;
    if (this.stopped || next === undefined || this.failures > 0) return;
    clearTimeout(this.timer);
    this.nextBeat = undefined;
    this.timer = setTimeout(next, 0);
  }

  /** The beat the timer will run (undefined while one is on its way, or before start()). */
  private nextBeat: (() => Promise<void>) | undefined;
  /** beatSoon() was asked since the last beat began. */
  private soon = false;

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async report() {
    const { facts, binfmt, reconciler } = await this.agent.heartbeat();
    const readAt = performance.now();
    const { lastError } = reconciler;
    return {
      // How old the entries are when sent, by this machine's monotonic clock: the server dates them
      // without trusting our wall clock, and drops them when it already holds a newer view.
      get entriesAgeMs() {
        return Math.round(performance.now() - readAt);
      },
      hostname: facts.hostname,
      arch: facts.machine,
      kernel: facts.kernelRelease,
      ...(facts.docker.version ? { dockerVersion: facts.docker.version } : {}),
      // As it is: the request's JSON.stringify is the one copy it needs.
      facts,
      entries: binfmt.entries.map((e) => e.entry as KernelEntry),
      // Null once a pass succeeds, which clears it on the server. Its age, not its time: the server
      // dates it by its own clock, as the entries.
      reconcileError: lastError
        ? {
            message: lastError.message.slice(0, 1000),
            ageMs: Math.max(0, Date.now() - Date.parse(lastError.at)),
          }
        : null,
    };
  }
}
