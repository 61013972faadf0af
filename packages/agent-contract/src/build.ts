import { TARGET_IDS } from '@binfleet/arch-table';
import { z } from 'zod';
import { archNames } from './arch-inputs.ts';
import { list } from './list.ts';

/**
 * A file on the builder host, as the agent API and the control plane take it: absolute, no `.` or
 * `..` segments, no control characters and no invisible or direction-changing Unicode (what a log or
 * a page shows is what is read).
 */
export const builderPath = (what: string) =>
  z
    .string()
    .max(4096)
    .regex(
      // eslint-disable-next-line no-control-regex -- control characters are what we refuse
      /^\/[^\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]*$/,
      `${what}: give an absolute path on the builder host`,
    )
    .refine(
      (path) => !path.split('/').some((segment) => segment === '.' || segment === '..'),
      `${what}: give the real path, without '.' or '..' segments`,
    );

/** Distribution's reference grammar for a repository path (lower case, separators between parts). */
export const REPOSITORY_NAME =
  /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** A package by its content: 64 lower-case hex digits. */
export const SHA256 = /^[0-9a-f]{64}$/;

/** What a build takes, as the agent API and the control plane validate it. */
export const buildRequestSchema = z
  .strictObject({
    packagePath: builderPath('packagePath')
      .optional()
      .describe('The QEMU package (.deb) on the builder host'),
    packageSha256: z
      .string()
      .regex(SHA256, 'packageSha256: 64 lower-case hex digits')
      .optional()
      .describe('Or a package uploaded to the builder (PUT /packages/<sha256>), by its sha256'),
    packages: z
      .array(
        z
          .strictObject({
            path: builderPath('packages[].path').optional(),
            sha256: z.string().regex(SHA256, 'packages[].sha256: 64 lower-case hex digits').optional(),
          })
          .refine((p) => (p.path === undefined) !== (p.sha256 === undefined), {
            message: 'Give each package either as path or as sha256 (one of them).',
          }),
      )
      .min(1)
      .max(16)
      .optional()
      .describe('Several QEMU packages, one per host architecture: one multi-platform build'),
    registry: z
      .string()
      .regex(
        /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$/,
        'registry: give host[:port], e.g. 127.0.0.1:5000',
      )
      .describe('Registry host[:port]'),
    repository: z
      .string()
      .max(255)
      .regex(REPOSITORY_NAME, 'repository: lower-case path such as multiarch/qemu-user-static')
      .describe('Repository in the registry'),
    auth: z
      .strictObject({ username: z.string().min(1).max(256), password: z.string().min(1).max(4096) })
      .optional()
      .describe('Registry basic auth'),
    targets: z.optional(archNames).describe('Only these emulators (default: every one in the package)'),
    busybox: builderPath('busybox').optional().describe('Static busybox of the package architecture'),
    busyboxes: z
      .array(builderPath('busyboxes[]'))
      .max(16)
      .optional()
      .describe('Static busybox binaries or busybox-static packages, one per host architecture'),
    insecure: z.boolean().optional().describe('Plain HTTP to the registry (loopback registries always are)'),
    testImage: z
      .string()
      .regex(/^[A-Za-z0-9._/:@-]{1,255}$/, 'testImage: give an image reference such as arm64v8/busybox')
      .optional()
      .describe('Foreign image for the container checks'),
    skipChecks: z.boolean().optional(),
    keepImages: z.boolean().optional(),
    buildId: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'buildId: letters, digits, . _ -')
      .optional(),
  })
  .refine((r) => [r.packagePath, r.packageSha256, r.packages].filter((p) => p !== undefined).length === 1, {
    message: 'Give the package as packagePath or packageSha256, or the packages as packages (one of them).',
  });

export type BuildRequestInput = z.input<typeof buildRequestSchema>;

export const BUILD_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
const buildStatus = z.enum(BUILD_STATUSES);

const packageFactsSchema = z.object({
  sha256: z.string(),
  size: z.number(),
  name: z.string(),
  version: z.string(),
  /** Debian architecture of the package: the host its emulators run on. */
  architecture: z.string(),
  fromArch: z.enum(TARGET_IDS),
  upstreamVersion: z.string(),
  emulators: list(z.string()),
  targets: list(z.enum(TARGET_IDS)),
  /** From the emulators themselves when the builder can run them, else the upstream version. */
  qemuVersion: z.string(),
});

/** A build as its builder reports it: the request (without the registry password), steps, checks, tags. */
export const buildReportSchema = z.object({
  id: z.string(),
  status: buildStatus,
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  error: z.string().optional(),
  request: z.object({
    packagePath: z.string().optional(),
    packageSha256: z.string().optional(),
    packages: list(z.object({ path: z.string().optional(), sha256: z.string().optional() })).optional(),
    registry: z.string(),
    repository: z.string(),
    /** Who the build pushed as; the password never leaves the builder. */
    username: z.string().optional(),
    targets: list(z.enum(TARGET_IDS)).optional(),
    busybox: z.string().optional(),
    busyboxes: list(z.string()).optional(),
    insecure: z.boolean().optional(),
    testImage: z.string().optional(),
    skipChecks: z.boolean().optional(),
    keepImages: z.boolean().optional(),
    buildId: z.string().optional(),
  }),
  /** The first package's facts, once read (a control plane of contract 1 reads only this). */
  package: packageFactsSchema.optional(),
  /** Every package's facts, one per host architecture, in the arch table's host order. */
  packages: list(packageFactsSchema).optional(),
  /** The tag version (`$version`). */
  version: z.string().optional(),
  steps: list(
    z.object({
      name: z.string(),
      status: buildStatus,
      startedAt: z.string().optional(),
      finishedAt: z.string().optional(),
      durationMs: z.number().optional(),
      log: z.string(),
    }),
  ),
  checks: list(
    z.object({
      name: z.string(),
      status: z.enum(['pass', 'fail', 'skipped']),
      detail: z.string(),
      output: z.string().optional(),
      durationMs: z.number(),
    }),
  ),
  tags: list(
    z.object({
      tag: z.string(),
      /** registry/repository:tag */
      reference: z.string(),
      platform: z.string(),
      imageId: z.string(),
      /** Manifest digest the registry stored; set once pushed. */
      digest: z.string().optional(),
      /** The image's layers (compressed) as the registry stores them. */
      size: z.number().optional(),
      /** An OCI image index (one entry per platform) or a single image's manifest. */
      form: z.enum(['index', 'single']).optional(),
    }),
  ),
  /** Length of the whole log (every step's lines): where buildLog goes on from. */
  logLength: z.number(),
});

/** The live log from a character on, and where to go on from. */
export const buildLogSchema = z.object({ text: z.string(), next: z.number(), status: buildStatus });

export type BuildStatus = z.output<typeof buildStatus>;
export type BuildReport = z.output<typeof buildReportSchema>;
export type BuildLog = z.output<typeof buildLogSchema>;
