import { TARGET_IDS } from '@binfleet/arch-table';
import { z } from 'zod';
import { desiredStateSchema } from './desired-state.ts';
import { list } from './list.ts';
import { actionRecordSchema, binfmtStatusSchema, entryStatusSchema, MAX_ENTRIES } from './kernel-entry.ts';

/** What an agent reports about its host: identity, kernel, binfmt_misc, dockerd and emulators. */
export const agentFactsSchema = z.object({
  hostname: z.string(),
  /** `uname -m`. */
  machine: z.string(),
  kernelRelease: z.string(),
  /** The agent runs in a user namespace other than the initial one (rootless, userns-remapped container). */
  inUserNamespace: z.boolean(),
  /** Registrations made here stay in this user namespace and do not affect the host. */
  binfmtNamespaced: z.boolean(),
  /** The agent's own version (its package.json). */
  agentVersion: z.string(),
  /** The contract version it speaks; absent from agents of contract 1. */
  contractVersion: z.number().int().optional(),
  binfmt: z.object({
    mountPoint: z.string(),
    mounted: z.boolean(),
    writable: z.boolean(),
    namespaced: z.boolean(),
  }),
  docker: z.object({
    reachable: z.boolean(),
    version: z.string().optional(),
    apiVersion: z.string().optional(),
    /** Why dockerd could not be asked, when it could not. */
    error: z.string().optional(),
  }),
  interpreters: list(
    z.object({
      target: z.enum(TARGET_IDS),
      path: z.string(),
      version: z.string().optional(),
      package: z.string().optional(),
      /**
       * Why no version was read although the emulator exists. Neither this nor `version`: not read
       * yet (an agent reads them after it starts, and the heartbeat after that brings them).
       */
      error: z.string().optional(),
    }),
  ),
});

const failingTargetSchema = z.object({
  target: z.enum(TARGET_IDS),
  attempts: z.number(),
  code: z.string(),
  message: z.string(),
  nextAttemptAt: z.string(),
});

/** The agent's reconciler: when it ran, how that went, and entries the kernel keeps rejecting. */
export const reconcilerStatusSchema = z.object({
  intervalMs: z.number(),
  lastRunAt: z.string().optional(),
  lastOutcome: z.enum(['no-desired-state', 'in-sync', 'busy', 'converged', 'failed']).optional(),
  /** Why it last failed, kept until a pass succeeds. */
  lastError: z.object({ code: z.string(), message: z.string(), at: z.string() }).optional(),
  nextRunAt: z.string().optional(),
  failing: list(failingTargetSchema),
});

export const agentStatusSchema = z.object({
  binfmt: binfmtStatusSchema,
  /** null until someone applies a desired state on this host. */
  desired: z.nullable(desiredStateSchema),
  /** What the reconciler would change now (empty when the kernel matches the desired state). */
  drift: list(actionRecordSchema),
  reconciler: reconcilerStatusSchema,
  /** The operation holding the host's lock, if any. */
  operation: z.object({ label: z.string(), startedAt: z.string() }).nullable(),
});

const entries = list(entryStatusSchema, MAX_ENTRIES);

export const applyOutcomeSchema = z.object({
  changed: z.boolean(),
  actions: list(actionRecordSchema),
  /** The kernel's entries once applied. */
  entries,
  desired: desiredStateSchema,
  /** What the caller should know (the C flag's risk, a forced native target, missing emulators). */
  warnings: list(z.string()).default([]),
});

/** remove, enable and disable: what they changed and (contract 2 on) the kernel's entries afterwards. */
export const removeOutcomeSchema = z.object({ removed: list(z.string()), entries: entries.optional() });
export const toggleOutcomeSchema = z.object({ changed: list(z.string()), entries: entries.optional() });

export const exportFilesSchema = list(z.object({ fileName: z.string(), content: z.string() }));

export type AgentFacts = z.output<typeof agentFactsSchema>;
export type ReconcilerStatus = z.output<typeof reconcilerStatusSchema>;
export type AgentStatus = z.output<typeof agentStatusSchema>;
export type ApplyOutcome = z.output<typeof applyOutcomeSchema>;
export type RemoveOutcome = z.output<typeof removeOutcomeSchema>;
export type ToggleOutcome = z.output<typeof toggleOutcomeSchema>;
