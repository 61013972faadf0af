import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Db, Prisma, RunStatus } from '@binfleet/db';
import type { PackageStore, QemuPackage } from '@binfleet/deb';
import { ControlPlaneError } from '../errors.ts';
import type { Actor, AuditService } from './audit.ts';

const packageSelect = {
  id: true,
  sha256: true,
  filename: true,
  size: true,
  name: true,
  version: true,
  architecture: true,
  createdAt: true,
  uploadedBy: { select: { username: true } },
} satisfies Prisma.UploadedPackageSelect;

/** Builds that still need their package's file: it is sent to the builder when they start. */
const UNFINISHED: RunStatus[] = ['queued', 'running'];

type PackageRow = Prisma.UploadedPackageGetPayload<{ select: typeof packageSelect }>;

export type UploadedPackageView = Omit<PackageRow, 'uploadedBy'> & { uploadedBy: string | null };

const view = ({ uploadedBy, ...row }: PackageRow): UploadedPackageView => ({
  ...row,
  uploadedBy: uploadedBy?.username ?? null,
});

/** What an uploaded file may be called in lists: its base name, printable, at most 255 characters. */
export function uploadFilename(raw: string | null | undefined): string {
  const decoded = (() => {
    try {
      return decodeURIComponent(raw ?? '');
    } catch {
      return '';
    }
  })();
  const name = decoded
    .split(/[/\\]/)
    .pop()!
    // eslint-disable-next-line no-control-regex -- control characters are what we drop
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '')
    .trim();
  return name.slice(0, 255) || 'package.deb';
}

/**
 * QEMU packages (.deb) that admins upload for builds. Files are streamed to the data dir under their
 * sha256 (never held in memory), checked to be a Debian package with qemu-*-static emulators, and
 * recorded once per sha256. Builds name a record; the build runner sends its file to the builder.
 */
export class PackageService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    /** Where uploaded files are kept, named by sha256. */
    private readonly store: PackageStore,
    /** Reads a package's facts (dpkg-deb). */
    private readonly read: (path: string) => Promise<QemuPackage>,
  ) {}

  get maxBytes(): number {
    return this.store.maxBytes;
  }

  async upload(
    actor: Actor,
    input: { filename: string; body: Readable },
  ): Promise<{ package: UploadedPackageView; created: boolean }> {
    const stored = await this.store.receive(input.body).catch(async (error: unknown) => {
      const refusal = translate(error, this.store.maxBytes);
      if (refusal instanceof ControlPlaneError) {
        await this.audit.record({
          actor,
          action: 'package.upload',
          targets: [input.filename],
          params: { filename: input.filename },
          outcome: 'failure',
          detail: refusal.message,
        });
      }
      throw refusal;
    });
    const known = await this.db.uploadedPackage.findUnique({
      where: { sha256: stored.sha256 },
      select: packageSelect,
    });
    if (known) {
      await this.record(actor, known, false);
      return { package: view(known), created: false };
    }
    let pkg: QemuPackage;
    try {
      pkg = await this.read(stored.path);
    } catch (error) {
      await rm(stored.path, { force: true });
      const message = (error as Error).message.replaceAll(stored.path, input.filename);
      await this.audit.record({
        actor,
        action: 'package.upload',
        targets: [input.filename],
        params: { filename: input.filename, sha256: stored.sha256, size: stored.size },
        outcome: 'failure',
        detail: message,
      });
      throw new ControlPlaneError('INVALID_INPUT', message);
    }
    const data = {
      sha256: stored.sha256,
      filename: input.filename,
      size: stored.size,
      name: pkg.name,
      version: pkg.version,
      architecture: pkg.architecture,
      uploadedById: actor.id,
    };
    // Two admins uploading the same file at once: one row, whoever is second reads it.
    const row = await this.db.uploadedPackage
      .create({ data, select: packageSelect })
      .catch(async (error: unknown) => {
        const again = await this.db.uploadedPackage.findUnique({
          where: { sha256: stored.sha256 },
          select: packageSelect,
        });
        if (!again) throw error;
        return again;
      });
    await this.record(actor, row, true);
    return { package: view(row), created: true };
  }

  async list(limit = 50): Promise<UploadedPackageView[]> {
    const rows = await this.db.uploadedPackage.findMany({
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      select: packageSelect,
    });
    return rows.map(view);
  }

  async get(id: string): Promise<UploadedPackageView> {
    const row = await this.db.uploadedPackage.findUnique({ where: { id }, select: packageSelect });
    if (!row) throw new ControlPlaneError('NOT_FOUND', 'No such uploaded package: upload it again.');
    return view(row);
  }

  /**
   * Deletes an upload, its record and its file, unless a queued or running build uses it. Finished
   * builds keep their package facts (name, version, sha256) on their own row; only their link to the
   * upload goes (`onDelete: SetNull`), so they can no longer be re-run.
   */
  async delete(actor: Actor, id: string): Promise<void> {
    const row = await this.db.uploadedPackage.findUnique({ where: { id }, select: packageSelect });
    if (!row) throw new ControlPlaneError('NOT_FOUND', 'No such uploaded package: it is deleted already.');
    // The check is the delete's own condition (one statement), not an earlier read: a build queued
    // meanwhile keeps its package, and one queued after fails for lack of it.
    const deleted = await this.db.uploadedPackage.deleteMany({
      where: {
        id,
        builds: { none: { status: { in: UNFINISHED } } },
        buildInputs: { none: { build: { status: { in: UNFINISHED } } } },
      },
    });
    const audit = {
      actor,
      action: 'package.delete',
      targets: [row.filename],
      params: {
        packageId: row.id,
        sha256: row.sha256,
        package: `${row.name} ${row.version} ${row.architecture}`,
      },
    };
    if (deleted.count === 0) {
      const users = await this.db.build.findMany({
        where: {
          OR: [{ packageId: id }, { inputs: { some: { packageId: id } } }],
          status: { in: UNFINISHED },
        },
        orderBy: { createdAt: 'asc' },
        select: { id: true, status: true, builderHost: { select: { hostname: true } } },
      });
      const them = users.length === 1 ? 'it' : 'them';
      const named = users.map(
        (b) => `build ${b.id} (${b.status}${b.builderHost ? ` on ${b.builderHost.hostname}` : ''})`,
      );
      const refusal = users.length
        ? new ControlPlaneError(
            'CONFLICT',
            `${row.filename} is in use by ${named.join(', ')}: wait for ${them} to finish or cancel ${them}, then delete the package.`,
          )
        : new ControlPlaneError('NOT_FOUND', 'No such uploaded package: it is deleted already.');
      await this.audit.record({ ...audit, outcome: 'failure', detail: refusal.message });
      throw refusal;
    }
    await rm(this.store.pathOf(row.sha256), { force: true });
    await this.audit.record({ ...audit, outcome: 'success' });
  }

  /** The file of a recorded package on this server, or an error that says what to do. */
  async file(sha256: string): Promise<{ path: string; size: number }> {
    const found = await this.store.get(sha256);
    if (!found) {
      throw new ControlPlaneError(
        'NOT_FOUND',
        `The uploaded package ${sha256} is not in this server's data dir (packages/): upload it again, ` +
          'or share BINFLEET_DATA_DIR/packages between web replicas.',
      );
    }
    return found;
  }

  private async record(actor: Actor, row: PackageRow, created: boolean) {
    await this.audit.record({
      actor,
      action: 'package.upload',
      targets: [row.filename],
      params: {
        packageId: row.id,
        sha256: row.sha256,
        size: row.size,
        package: `${row.name} ${row.version} ${row.architecture}`,
        created,
      },
      outcome: 'success',
    });
  }
}

function translate(error: unknown, maxBytes: number): unknown {
  const code = (error as { code?: string }).code;
  if (code === 'TOO_LARGE')
    return new ControlPlaneError(
      'TOO_LARGE',
      `The file is larger than ${maxBytes} bytes, the upload limit: raise BINFLEET_PACKAGE_MAX_BYTES or give the package as a file on the builder.`,
    );
  if (code === 'INVALID_PACKAGE') return new ControlPlaneError('INVALID_INPUT', (error as Error).message);
  return error;
}
