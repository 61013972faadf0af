import { TARGET_IDS, type KernelEntry } from '@binfleet/arch-table';
import { z } from 'zod';
import { list } from './list.ts';

/**
 * An entry as an agent reads it from the kernel (the arch table's KernelEntry); bounded, so that a
 * broken agent cannot flood the control plane's database with its heartbeats.
 */
export const kernelEntrySchema = z.union([
  z.object({
    name: z.string().max(64),
    enabled: z.boolean(),
    interpreter: z.string().max(256),
    flags: z.string().max(4),
    type: z.literal('M'),
    offset: z.number().int().min(0).max(256),
    magic: z.string().max(512),
    mask: z.string().max(512).optional(),
  }),
  z.object({
    name: z.string().max(64),
    enabled: z.boolean(),
    interpreter: z.string().max(256),
    flags: z.string().max(4),
    type: z.literal('E'),
    extension: z.string().max(64),
  }),
]) satisfies z.ZodType<KernelEntry>;

/** At most this many entries in one message. */
export const MAX_ENTRIES = 512;

/** One entry of binfmt_misc and, when it is one of ours (qemu-<target>), its target. */
export const entryStatusSchema = z.object({
  name: z.string(),
  target: z.enum(TARGET_IDS).optional(),
  entry: kernelEntrySchema,
});

export const binfmtStatusSchema = z.object({
  mountPoint: z.string(),
  mounted: z.boolean(),
  writable: z.boolean(),
  /** The global switch in `status`. */
  enabled: z.boolean(),
  entries: list(entryStatusSchema, MAX_ENTRIES),
});

/** A planned or performed change to binfmt_misc (the agent's apply, and the drift it would fix). */
export const actionRecordSchema = z.object({
  kind: z.enum(['remove', 'register', 'enable', 'disable', 'unchanged']),
  name: z.string(),
  target: z.enum(TARGET_IDS).optional(),
  /** For `remove`: why (`reset` or `replace` of an entry with other settings). */
  reason: z.enum(['reset', 'replace']).optional(),
  /** For `register`: the line written into `register`. */
  line: z.string().optional(),
});

export type EntryStatus = z.output<typeof entryStatusSchema>;
export type BinfmtStatus = z.output<typeof binfmtStatusSchema>;
export type ActionRecord = z.output<typeof actionRecordSchema>;
