import {
  CHANNEL_PATH,
  channelEventSchemas,
  controlPlaneApi,
  type AgentCall,
  type CallOutcome,
} from '@binfleet/agent-contract';
import type { LogRecord } from '../services/reconciler.ts';
import { ControlPlaneClient } from './control-plane-client.ts';

export interface DialOutOptions {
  readonly serverUrl: string;
  /** The heartbeat credential, read at each use (a rotation replaces it): the channel and every result are authenticated with it. */
  readonly token: () => Promise<string>;
  readonly log: (r: LogRecord) => void;
  /** First and longest wait between reconnects (exponential, with full jitter). */
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
}

/** Calls remembered with their outcome, so a call delivered again is answered, not run twice. */
const REMEMBERED = 500;
/** Tries to send one result before waiting for the call to be delivered again. */
const RESULT_TRIES = 5;
/** How long stop() waits for answers still being sent. */
const ANSWER_GRACE_MS = 10_000;

/**
 * The agent's side of the dial-out transport: one outbound request to the control plane held open
 * (server-sent events), on which its calls arrive; each runs once through `dispatch` (the agent's own
 * router) and its outcome goes back as an authenticated POST with the call's id and attempt. A call
 * delivered again (after a reconnect) is answered with the outcome it already has, or the one it is
 * running for. Dropped or silent for 3 keepalives: reconnect with exponential backoff and jitter.
 * The agent listens on nothing.
 */
export class DialOutChannel {
  private readonly calls = new Map<string, Promise<CallOutcome>>();
  /** Answers being sent: stop() lets them go out (an upgrade's answer comes just before a stop). */
  private readonly answering = new Set<Promise<void>>();
  private abandoned = false;
  private readonly client: ControlPlaneClient;
  private stopped = false;
  private current: AbortController | undefined;
  private wait: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly dispatch: (call: AgentCall) => Promise<CallOutcome>,
    private readonly options: DialOutOptions,
  ) {
    this.client = new ControlPlaneClient(options.serverUrl);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.abort();
    if (this.wait) {
      clearTimeout(this.wait.timer);
      this.wait.resolve();
    }
    await this.loop;
    const grace = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ANSWER_GRACE_MS);
      void Promise.allSettled([...this.answering]).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await grace;
    this.abandoned = true;
  }

  private async run(): Promise<void> {
    const { baseMs, maxMs } = this.options.backoff ?? { baseMs: 500, maxMs: 30_000 };
    let failures = 0;
    // Until stop(): each pass holds one channel until it drops, then waits its backoff.
    while (!this.stopped) {
      let spoke = false;
      try {
        await this.hold(() => (spoke = true));
      } catch (error) {
        // A channel that was open is reported each time it drops; failed attempts the first and every tenth time.
        if (!this.stopped && (spoke || failures % 10 === 0))
          this.options.log({
            event: spoke ? 'channel-lost' : 'channel-failed',
            level: 'warn',
            ...(spoke ? {} : { failures: failures + 1 }),
            message: (error as Error).message,
          });
      }
      if (this.stopped) break;
      failures = spoke ? 0 : failures + 1;
      const delay = Math.random() * Math.min(maxMs, baseMs * 2 ** Math.min(failures, 16));
      await new Promise<void>((resolve) => {
        this.wait = { timer: setTimeout(resolve, delay), resolve };
      });
    }
  }

  /** Opens the channel and reads it until it ends; `spoke` once the server said hello. */
  private async hold(spoke: () => void): Promise<void> {
    const abort = new AbortController();
    this.current = abort;
    let silence: NodeJS.Timeout | undefined;
    let keepaliveMs = 30_000;
    const heard = () => {
      clearTimeout(silence);
      silence = setTimeout(() => abort.abort(new Error('the channel was silent')), 3 * keepaliveMs);
    };
    try {
      heard();
      const url = new URL(CHANNEL_PATH, this.options.serverUrl.replace(/\/?$/, '/'));
      const response = await fetch(url, {
        headers: { authorization: `Bearer ${await this.options.token()}`, accept: 'text/event-stream' },
        signal: abort.signal,
      });
      if (!response.ok || !response.body) {
        const body = (await response.json().catch(() => undefined)) as
          { error?: { message?: string } } | undefined;
        throw new Error(
          `the control plane refused the channel (HTTP ${response.status}): ${body?.error?.message ?? ''}`,
        );
      }
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body) {
        heard();
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = parseEvent(message);
          if (!event) continue;
          if (event.name === 'hello') {
            const hello = channelEventSchemas.hello.parse(event.data);
            keepaliveMs = hello.keepaliveMs;
            heard();
            spoke();
            this.options.log({
              event: 'channel-open',
              server: this.options.serverUrl,
              channelId: hello.channelId,
            });
          } else if (event.name === 'call') {
            const call = channelEventSchemas.call.safeParse(event.data);
            if (call.success) {
              const answered = this.answer(call.data).finally(() => this.answering.delete(answered));
              this.answering.add(answered);
            } else
              this.options.log({ event: 'channel-call-refused', level: 'warn', message: call.error.message });
          } else if (event.name === 'close') {
            const close = channelEventSchemas.close.parse(event.data);
            this.options.log({ event: 'channel-closed', reason: close.reason });
          }
        }
      }
    } finally {
      clearTimeout(silence);
      this.current = undefined;
    }
    if (!this.stopped) throw new Error('the control plane ended the channel');
  }

  /** Runs the call once (a redelivery shares the run) and sends the outcome for this attempt. */
  private async answer(call: AgentCall): Promise<void> {
    let outcome = this.calls.get(call.id);
    const { id: callId, attempt, procedure } = call;
    this.options.log({ event: outcome ? 'call-again' : 'call', callId, attempt, procedure });
    if (!outcome) {
      outcome = this.dispatch(call);
      this.calls.set(call.id, outcome);
      if (this.calls.size > REMEMBERED) this.calls.delete(this.calls.keys().next().value!);
    }
    const result = { callId: call.id, attempt: call.attempt, outcome: await outcome };
    for (let attempt = 0; attempt < RESULT_TRIES && !this.abandoned; attempt++) {
      try {
        const answer = await this.client.mutation(
          controlPlaneApi.callResult,
          result,
          await this.options.token(),
        );
        if (!answer.accepted)
          this.options.log({
            event: 'result-refused',
            level: 'warn',
            callId: call.id,
            attempt: call.attempt,
          });
        return;
      } catch (error) {
        if (attempt === RESULT_TRIES - 1)
          this.options.log({
            event: 'result-failed',
            level: 'warn',
            callId: call.id,
            message: `${(error as Error).message}; it is sent again when the call is delivered again`,
          });
        else await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
      }
    }
  }
}

/** One server-sent event: its `event` name and its `data` as JSON; comments (keepalives) are none. */
function parseEvent(message: string): { name: string; data: unknown } | undefined {
  let name = 'message';
  const data: string[] = [];
  for (const line of message.split('\n')) {
    if (line.startsWith('event:')) name = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0) return undefined;
  try {
    return { name, data: JSON.parse(data.join('\n')) as unknown };
  } catch {
    return undefined;
  }
}
