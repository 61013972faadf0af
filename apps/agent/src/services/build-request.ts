import { z } from 'zod';
import { archNames } from './desired-state.ts';

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

/** What a build takes, as the agent API and the control plane validate it. */
export const buildRequestSchema = z
  .strictObject({
    packagePath: builderPath('packagePath')
      .optional()
      .describe('The QEMU package (.deb) on the builder host'),
    packageSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'packageSha256: 64 lower-case hex digits')
      .optional()
      .describe('Or a package uploaded to the builder (PUT /packages/<sha256>), by its sha256'),
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
    targets: archNames.optional().describe('Only these emulators (default: every one in the package)'),
    busybox: builderPath('busybox').optional().describe('Static busybox of the package architecture'),
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
  .refine((r) => (r.packagePath === undefined) !== (r.packageSha256 === undefined), {
    message: 'Give the package either as packagePath or as packageSha256 (one of them).',
  });

export type BuildRequestInput = z.input<typeof buildRequestSchema>;
