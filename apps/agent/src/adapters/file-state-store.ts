import { randomBytes, randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { desiredStateSchema, SHA256, type DesiredState } from '@binfleet/agent-contract';
import { AgentError } from '../errors.ts';
import { fleetLinkSchema, type FleetLinkFile, type StateStore, type TokenHashes } from './state-store.ts';

const desiredFileSchema = z.object({
  version: z.literal(1),
  updatedAt: z.iso.datetime(),
  state: desiredStateSchema,
});

const tokenFileSchema = z.object({
  version: z.literal(1),
  algorithm: z.literal('sha256'),
  hash: z.string().regex(SHA256),
  previousHash: z.string().regex(SHA256).optional(),
});

/**
 * The StateStore of a real host: each value is one JSON file in `dir`, written atomically (temporary
 * file + rename) so a crash or full disk never leaves half a file, readable by root only, and
 * validated on read: a hand-edited or truncated file is reported, never half-applied.
 */
export class FileStateStore implements StateStore {
  readonly desiredFile: string;
  readonly tokenFile: string;

  constructor(readonly dir: string) {
    this.desiredFile = join(dir, 'desired-state.json');
    this.tokenFile = join(dir, 'token-hash.json');
    this.fleetFile = join(dir, 'fleet-link.json');
  }

  readonly fleetFile: string;

  async readFleetLink(): Promise<FleetLinkFile> {
    const file = await this.read(this.fleetFile, fleetLinkSchema, 'the control-plane link');
    if (file) return file;
    const created: FleetLinkFile = { version: 1, agentId: randomUUID(), link: null };
    await this.write(this.fleetFile, created);
    return created;
  }

  async writeFleetLink(file: FleetLinkFile): Promise<void> {
    await this.write(this.fleetFile, fleetLinkSchema.parse(file));
  }

  /**
   * Read by every heartbeat, status call and apply: parsed again only when the file is another one
   * (inode) or has changed (mtime, size), as a write by this store or by hand makes it.
   */
  async readDesired(): Promise<DesiredState | undefined> {
    const stamp = fileStamp(this.desiredFile);
    if (stamp === 'absent') return undefined;
    if (stamp !== undefined && this.desiredCache?.stamp === stamp) return this.desiredCache.state;
    const file = await this.read(this.desiredFile, desiredFileSchema, 'the desired state');
    this.desiredCache = stamp !== undefined && file !== undefined ? { stamp, state: file.state } : undefined;
    return file?.state;
  }

  private desiredCache: { readonly stamp: string; readonly state: DesiredState } | undefined;

  /**
   * Saves the state; an unchanged one is not rewritten (every apply saves, and most re-apply what
   * is there: one small read instead of a write and an fsync).
   */
  async writeDesired(state: DesiredState): Promise<void> {
    const kept = await this.readDesired().catch(() => undefined);
    if (JSON.stringify(kept) === JSON.stringify(state)) return;
    await this.write(this.desiredFile, { version: 1, updatedAt: new Date().toISOString(), state });
    const stamp = fileStamp(this.desiredFile);
    this.desiredCache = stamp === undefined || stamp === 'absent' ? undefined : { stamp, state };
  }

  async readTokenHashes(): Promise<TokenHashes | undefined> {
    const file = await this.read(this.tokenFile, tokenFileSchema, 'the token hash');
    return file && { hash: file.hash, ...(file.previousHash ? { previousHash: file.previousHash } : {}) };
  }

  async writeTokenHashes(hashes: TokenHashes): Promise<void> {
    await this.write(this.tokenFile, tokenFileSchema.parse({ version: 1, algorithm: 'sha256', ...hashes }));
  }

  private async read<S extends z.core.$ZodType>(
    file: string,
    schema: S,
    what: string,
  ): Promise<z.output<S> | undefined> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw storageError(error, `Cannot read ${what} from ${file}`, this.dir);
    }
    const corrupt = (why: string) =>
      new AgentError(
        'STATE_CORRUPT',
        `${file} holds no valid ${what} (${why}). Fix the file, or delete it and apply again (the agent rewrites it).`,
      );
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw corrupt(`not JSON: ${(error as Error).message}`);
    }
    const parsed = z.safeParse(schema, json);
    if (!parsed.success) throw corrupt(z.prettifyError(parsed.error).replaceAll('\n', ' '));
    return parsed.data;
  }

  private async write(file: string, value: unknown): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const handle = await open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify(value, null, 2) + '\n');
        // Data on disk before the rename makes it visible: a power cut must leave old or new.
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, file);
    } catch (error) {
      await rm(tmp, { force: true });
      throw storageError(error, `Cannot save ${file}`, this.dir);
    }
  }
}

/**
 * Which file is at `path` and which version of it (inode, mtime in ns, size); 'absent' when there is
 * none, undefined when stat fails otherwise (read() then reports why).
 */
function fileStamp(path: string): string | undefined {
  try {
    const s = statSync(path, { bigint: true, throwIfNoEntry: false });
    return s ? `${s.ino}:${s.mtimeNs}:${s.size}` : 'absent';
  } catch {
    return undefined;
  }
}

function storageError(error: unknown, what: string, dir: string): AgentError {
  const code = (error as NodeJS.ErrnoException).code;
  const denied = code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
  return new AgentError(
    denied ? 'PERMISSION_DENIED' : 'INTERNAL',
    `${what} (${(error as Error).message}): ` +
      (denied
        ? `run the agent as root or choose another --state-dir than ${dir}.`
        : `check ${dir} and free disk space.`),
  );
}
