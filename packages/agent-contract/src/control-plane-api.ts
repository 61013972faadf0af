import { z } from 'zod';
import { callResultAnswerSchema, callResultInputSchema, agentTransportSchema } from './dial-out.ts';
import { kernelEntrySchema, MAX_ENTRIES } from './kernel-entry.ts';

/**
 * What an agent says about itself on join and on every heartbeat. Plain objects, not strict ones:
 * fields this version does not know (sent by a newer agent) are dropped, not refused.
 */
const report = {
  hostname: z.string().min(1).max(253),
  arch: z.string().max(32).optional(),
  kernel: z.string().max(128).optional(),
  dockerVersion: z.string().max(64).optional(),
  /** The agent's facts (its `facts` answer), kept as they come for the dashboard. */
  facts: z
    .record(z.string(), z.unknown())
    .refine((f) => JSON.stringify(f).length < 64_000, 'facts are too large'),
  entries: z.array(kernelEntrySchema).max(MAX_ENTRIES),
  /** How long ago the agent read its entries (its monotonic clock): dates them without trusting its wall clock. */
  entriesAgeMs: z.number().int().min(0).max(3_600_000).default(0),
  /** The reconciler's last error until a pass succeeds; null clears it. Dated by its age, as the entries. */
  reconcileError: z
    .object({
      message: z.string().max(2000),
      ageMs: z
        .number()
        .int()
        .min(0)
        .max(30 * 86_400_000),
    })
    .nullable()
    .optional(),
};

const joinObjectSchema = z.object({
  joinToken: z.string().min(1).max(128),
  agentId: z.string().regex(/^[A-Za-z0-9-]{8,64}$/),
  /** Where the control plane calls a direct agent; a dial-out agent has none. */
  agentUrl: z
    .url({ protocol: /^https?$/ })
    .max(512)
    .optional(),
  /** Default direct (agents of before dial-out send none). */
  transport: agentTransportSchema.default('direct'),
  /** An agent that joined before proves it is that agent with its heartbeat credential. */
  heartbeatToken: z.string().min(1).max(128).optional(),
  ...report,
});

export const joinInputSchema = joinObjectSchema.refine(
  (j) => j.transport === 'dial-out' || j.agentUrl !== undefined,
  { message: 'A direct agent names its agentUrl (or joins with transport dial-out).', path: ['agentUrl'] },
);

/**
 * A digest the control plane answered for facts or entries it was sent (`held`): opaque to agents,
 * which only send it back.
 */
const heldDigest = z.string().regex(/^[0-9a-f]{64}$/);

export const heartbeatInputSchema = z
  .object({
    ...report,
    /** Absent when `unchanged.facts` says they are the ones sent before. */
    facts: report.facts.optional(),
    /** Absent when `unchanged.entries` says they are the ones sent before. */
    entries: report.entries.optional(),
    /**
     * Facts or entries left out because they are the same as this agent last sent, named by the
     * digest the control plane answered for them then (`held`). A control plane that holds other ones
     * for the host answers `resend`. Only to a control plane that answered `held`: older ones refuse
     * a heartbeat without facts and entries.
     */
    unchanged: z.object({ facts: heldDigest.optional(), entries: heldDigest.optional() }).optional(),
    /** Where the agent is now; checked by the control plane with the join's rule, so a refused one is recorded. */
    agentUrl: z.string().min(1).max(512).optional(),
  })
  .refine((b) => (b.facts === undefined) !== (b.unchanged?.facts === undefined), {
    message: 'A heartbeat carries its facts, or names them in unchanged.facts (one of the two).',
    path: ['facts'],
  })
  .refine((b) => (b.entries === undefined) !== (b.unchanged?.entries === undefined), {
    message: 'A heartbeat carries its entries, or names them in unchanged.entries (one of the two).',
    path: ['entries'],
  });

/** A credential as agents keep and present it (an Authorization header carries it; long enough not to guess). */
const agentCredential = z.string().regex(/^[\x21-\x7e]{24,512}$/);

/** The control plane's contract version, in its answers (absent from control planes of contract 1). */
const answeredBy = { contractVersion: z.number().int().optional() };

export const joinAnswerSchema = z.object({
  hostId: z.string().min(1),
  /** The credential the control plane calls this agent with: it becomes the agent's API token. */
  agentToken: z.string().min(1),
  /** The agent's credential for its heartbeats (and for proving who it is when it joins again). */
  heartbeatToken: z.string().min(1),
  heartbeatIntervalMs: z.number().int().positive(),
  /** How the control plane will reach this agent (absent from control planes before dial-out: direct). */
  transport: agentTransportSchema.default('direct'),
  ...answeredBy,
});

export const heartbeatAnswerSchema = z.object({
  ok: z.literal(true).optional(),
  heartbeatIntervalMs: z.number().int().positive(),
  /** The auto-heal job this heartbeat queued (its drift from the policy), if any. */
  healJob: z.string().nullable().optional(),
  /** Why the control plane refused the URL the agent advertised (it goes on calling the one it had). */
  agentUrlRefused: z.string().optional(),
  /**
   * Digests of the facts and entries this heartbeat carried (or named), each as the control plane now
   * holds it for the host: while they stay the same, the agent's next heartbeats may name them in
   * `unchanged` instead of sending them. Entries it did not take (a newer view of the host's was
   * there) have none. Absent from control planes before it, which need everything sent every time.
   */
  held: z.object({ facts: heldDigest.optional(), entries: heldDigest.optional() }).optional(),
  /**
   * The heartbeat named facts or entries in `unchanged` that are not what the control plane holds for
   * the host (it restarted on an older database, another heartbeat or a job changed them): nothing of
   * it was recorded; send them in full now.
   */
  resend: z.literal(true).optional(),
  /**
   * A new credential pair an admin issued (a rotation), sent on every answer until the agent heartbeats
   * with the new heartbeat credential; until then the old pair stays valid. An agent that does not know
   * this field drops it and goes on with the old pair.
   */
  newCredential: z
    .object({
      /** The agent's new API token: the control plane calls with it once the agent used the new heartbeat credential. */
      agentToken: agentCredential,
      heartbeatToken: agentCredential,
    })
    .optional(),
  ...answeredBy,
});

/**
 * The control plane's API for agents, under `<server>/api/trpc/<path>` (tRPC with superjson: inputs
 * as `{ json: ... }`). Agents parse its answers with these schemas.
 */
export const controlPlaneApi = {
  join: { path: 'agentApi.join', input: joinInputSchema, output: joinAnswerSchema },
  heartbeat: { path: 'agentApi.heartbeat', input: heartbeatInputSchema, output: heartbeatAnswerSchema },
  /** A dial-out agent's answer to a call it got on its channel. */
  callResult: { path: 'agentApi.callResult', input: callResultInputSchema, output: callResultAnswerSchema },
} as const;

export type JoinInput = z.input<typeof joinInputSchema>;
export type Join = z.output<typeof joinInputSchema>;
export type HeartbeatInput = z.input<typeof heartbeatInputSchema>;
export type Heartbeat = z.output<typeof heartbeatInputSchema>;
export type JoinAnswer = z.output<typeof joinAnswerSchema>;
export type HeartbeatAnswer = z.output<typeof heartbeatAnswerSchema>;
