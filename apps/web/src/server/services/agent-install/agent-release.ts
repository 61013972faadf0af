import { stat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { agentReleaseManifestSchema, type AgentReleaseManifest } from '@binfleet/agent-contract';
import { ControlPlaneError } from '../../errors.ts';

export type ReleaseArtifact = AgentReleaseManifest['artifacts'][number];

/**
 * The agent release this control plane serves: `manifest.json` and the files it names, as
 * `pnpm agent:package` left them in the dist directory. Read again when the manifest changes, so a
 * new package is served without a restart; only files the manifest names are ever served.
 */
export class AgentRelease {
  private cached: { mtimeMs: number; manifest: AgentReleaseManifest } | undefined;

  constructor(private readonly dir: string | undefined) {}

  /** The release, or a NOT_FOUND error that says how to make one. */
  async manifest(): Promise<AgentReleaseManifest> {
    if (!this.dir)
      throw new ControlPlaneError(
        'NOT_FOUND',
        'This control plane serves no agent release: run `pnpm agent:package` in its checkout, or set BINFLEET_AGENT_DIST to the directory it wrote.',
      );
    const file = path.join(this.dir, 'manifest.json');
    const info = await stat(file).catch(() => undefined);
    if (!info)
      throw new ControlPlaneError(
        'NOT_FOUND',
        `This control plane has no agent release in ${this.dir}: run \`pnpm agent:package\` there (or set BINFLEET_AGENT_DIST).`,
      );
    if (this.cached?.mtimeMs !== info.mtimeMs) {
      const parsed = agentReleaseManifestSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
      if (!parsed.success)
        throw new ControlPlaneError(
          'NOT_FOUND',
          `${file} is not an agent release manifest (${parsed.error.issues[0]?.message}): run \`pnpm agent:package\` again.`,
        );
      this.cached = { mtimeMs: info.mtimeMs, manifest: parsed.data };
    }
    return this.cached.manifest;
  }

  /** The artifact of this kind, when the release has one. */
  async artifact(kind: ReleaseArtifact['kind']): Promise<ReleaseArtifact | undefined> {
    return (await this.manifest()).artifacts.find((a) => a.kind === kind);
  }

  /** The path of a file the manifest names, with its record; undefined for any other name. */
  async file(name: string): Promise<{ path: string; artifact: ReleaseArtifact } | undefined> {
    const artifact = (await this.manifest()).artifacts.find((a) => a.file === name);
    return artifact ? { path: path.join(this.dir!, artifact.file), artifact } : undefined;
  }
}
