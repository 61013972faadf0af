import { request } from 'node:http';
import type Docker from 'dockerode';
import { AgentError } from '../errors.ts';
import { demuxDockerLogs } from './demux-docker-logs.ts';
import {
  type BuildImageOptions,
  DEFAULT_DOCKER_SOCKET,
  type DockerClient,
  type DockerInfo,
  type ImageClient,
  type ImageFacts,
  type InfoOptions,
  type RunOnceOptions,
  type RunOnceResult,
} from './docker-client.ts';

/** The error docker-modem rejects with: `statusCode` is set when dockerd answered at all. */
interface ModemError {
  readonly statusCode?: number;
  readonly json?: { readonly message?: string } | null;
  readonly message?: string;
}

/** How long the version check waits for dockerd's whole answer before it reports dockerd unreachable. */
const VERSION_TIMEOUT_MS = 10_000;
/** A /version answer is a few hundred bytes; more is not dockerd. */
const VERSION_BODY_LIMIT = 64 * 1024;

/**
 * The one adapter over dockerode; the rest of the agent sees only DockerClient. dockerode (with
 * docker-modem, ssh2 and the gRPC client it loads) is loaded on the first call that needs it: at an
 * agent's start it was ~40% of the CPU of starting and joining (~0.4 s), all for the version that
 * every heartbeat reports. That check is one GET /version on the socket here, as dockerode sends it.
 */
export class DockerodeClient implements DockerClient, ImageClient {
  private dockerode: Promise<Docker> | undefined;
  /** The latest /version asked (in flight or reachable), by the monotonic clock `now`. */
  private recent: { readonly at: number; readonly info: Promise<DockerInfo> } | undefined;

  constructor(
    readonly socketPath: string = DEFAULT_DOCKER_SOCKET,
    private readonly now: () => number = () => performance.now(),
    private readonly versionTimeoutMs = VERSION_TIMEOUT_MS,
  ) {}

  private get docker(): Promise<Docker> {
    return (this.dockerode ??= import('dockerode').then(
      (m) => new m.default({ socketPath: this.socketPath }),
    ));
  }

  info(options: InfoOptions = {}): Promise<DockerInfo> {
    const at = this.now();
    if (this.recent && options.maxAgeMs !== undefined && at - this.recent.at < options.maxAgeMs)
      return this.recent.info;
    const info = this.version();
    const recent = { at, info };
    this.recent = recent;
    // An unreachable answer is not kept: a failed connect costs little, and a dockerd that starts
    // shows up on the next call.
    void info.then((i) => {
      if (!i.reachable && this.recent === recent) this.recent = undefined;
    });
    return info;
  }

  /**
   * GET /version on the socket: dockerd's engine and API version, or why it could not be asked. A
   * connection of its own (no keep-alive pool), the whole exchange within VERSION_TIMEOUT_MS.
   */
  private version(): Promise<DockerInfo> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (info: DockerInfo) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(info);
      };
      const unreachable = (error: unknown) => settle({ reachable: false, error: describe(error) });
      // servername '': no TLS name to work out for a unix socket. Node's http client otherwise checks
      // whether the host ('localhost') is an IP address, and compiles its IPv6 pattern for that: ~4 ms
      // of CPU once per agent.
      const options = { socketPath: this.socketPath, path: '/version', agent: false, servername: '' };
      const req = request(options, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (body.length > VERSION_BODY_LIMIT)
            req.destroy(new Error(`dockerd's /version answer is over ${VERSION_BODY_LIMIT / 1024} KiB`));
        });
        res.on('error', unreachable);
        // After 'end' this changes nothing; before it, the answer was cut off.
        res.on('close', () => unreachable(new Error('dockerd closed the connection during /version')));
        res.on('end', () => {
          const json = parseVersion(body);
          if (res.statusCode !== 200 || typeof json?.Version !== 'string')
            return settle({
              reachable: false,
              error:
                typeof json?.message === 'string'
                  ? json.message.trim()
                  : `dockerd answered /version with HTTP ${res.statusCode}: ${body.slice(0, 200).trim()}`,
            });
          settle({
            reachable: true,
            version: json.Version,
            ...(typeof json.ApiVersion === 'string' ? { apiVersion: json.ApiVersion } : {}),
          });
        });
      });
      const deadline = setTimeout(
        () =>
          req.destroy(new Error(`dockerd did not answer /version within ${this.versionTimeoutMs / 1000} s`)),
        this.versionTimeoutMs,
      );
      req.on('error', unreachable);
      req.end();
    });
  }

  async hasImage(name: string): Promise<boolean> {
    try {
      await (await this.docker).getImage(name).inspect();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw this.translate(error, `inspecting image ${name}`);
    }
  }

  async runOnce(options: RunOnceOptions): Promise<RunOnceResult> {
    let container: Docker.Container;
    try {
      container = await (
        await this.docker
      ).createContainer({
        Image: options.image,
        Cmd: [...options.cmd],
        ...(options.platform ? { platform: options.platform } : {}),
        AttachStdout: false,
        AttachStderr: false,
        Tty: false,
        HostConfig: {
          NetworkMode: 'none',
          ...(options.privileged ? { Privileged: true } : {}),
          ...(options.capAdd ? { CapAdd: [...options.capAdd] } : {}),
          ...(options.securityOpt ? { SecurityOpt: [...options.securityOpt] } : {}),
        },
      });
    } catch (error) {
      if (statusOf(error) === 404) throw imageMissing(options.image, options.platform);
      throw this.translate(error, `creating a container from ${options.image}`);
    }
    try {
      await container.start();
      const exitCode = await this.waitOrKill(container, options.timeoutMs);
      const logs = await container.logs({ stdout: true, stderr: true, follow: false });
      return {
        ...demuxDockerLogs(logs),
        ...(exitCode === undefined ? {} : { exitCode }),
        timedOut: exitCode === undefined,
      };
    } catch (error) {
      throw this.translate(error, `running ${options.cmd.join(' ')} in ${options.image}`);
    } finally {
      // A failed removal (already gone, dockerd went away) must not hide the run's own result.
      await container.remove({ force: true }).catch(() => undefined);
    }
  }

  async buildImage(options: BuildImageOptions): Promise<{ id: string }> {
    const doing = `building ${options.tags[0] ?? 'an image'}`;
    for (const image of options.from) {
      // dockerd's builder would pull it.
      if (!(await this.hasImage(image)))
        throw imageMissing(image, options.platform, `${doing} starts FROM it`);
    }
    let id: string | undefined;
    try {
      // The API takes `t` repeatedly (docker-modem repeats array parameters); the typings know one.
      const query = {
        t: [...options.tags],
        ...(options.platform ? { platform: options.platform } : {}),
        ...(options.labels ? { labels: options.labels } : {}),
        // The classic builder: BuildKit (version 2) would need a session and a frontend image.
        version: '1',
        rm: true,
        forcerm: true,
        abortSignal: options.signal,
      };
      const stream = await (
        await this.docker
      ).buildImage(options.context, query as unknown as Docker.ImageBuildOptions);
      await readProgress(stream, doing, (event) => {
        if (event.aux?.ID) id = event.aux.ID;
        for (const line of (event.stream ?? '').split('\n')) if (line.trim()) options.onLog?.(line.trimEnd());
      });
    } catch (error) {
      throw this.translate(error, doing);
    }
    if (!id) throw new AgentError('DOCKER_FAILED', `dockerd reported no image id while ${doing}.`);
    return { id };
  }

  async loadImage(archive: NodeJS.ReadableStream, signal?: AbortSignal): Promise<void> {
    const doing = 'loading images';
    try {
      const stream = (await (
        await this.docker
      ).loadImage(archive, {
        quiet: true,
        abortSignal: signal,
      } as object)) as unknown as NodeJS.ReadableStream;
      await readProgress(stream, doing, () => undefined);
    } catch (error) {
      throw this.translate(error, doing);
    }
  }

  async removeImage(name: string): Promise<boolean> {
    try {
      await (await this.docker).getImage(name).remove({ force: true });
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw this.translate(error, `removing image ${name}`);
    }
  }

  async inspectImage(name: string): Promise<ImageFacts | undefined> {
    try {
      const i = await (await this.docker).getImage(name).inspect();
      const variant = (i as { Variant?: string }).Variant;
      return {
        id: i.Id,
        os: i.Os,
        architecture: i.Architecture,
        ...(variant ? { variant } : {}),
        size: i.Size,
        created: i.Created,
        repoDigests: i.RepoDigests ?? [],
      };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw this.translate(error, `inspecting image ${name}`);
    }
  }

  /** The exit code, or undefined when the timeout came first and the container was killed. */
  private async waitOrKill(container: Docker.Container, timeoutMs: number): Promise<number | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      const waited = container.wait().then((r: { StatusCode: number }) => r.StatusCode);
      const exitCode = await Promise.race([waited, timeout]);
      if (exitCode !== undefined) return exitCode;
      await container.kill().catch((error: unknown) => {
        // 409: it stopped on its own in the meantime.
        if (statusOf(error) !== 409) throw error;
      });
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private translate(error: unknown, doing: string): AgentError {
    if (error instanceof AgentError) return error;
    if (statusOf(error) === undefined) {
      return new AgentError(
        'DOCKER_UNAVAILABLE',
        `dockerd is not reachable at ${this.socketPath} (${describe(error)}) while ${doing}: ` +
          `start dockerd or mount /var/run/docker.sock.`,
      );
    }
    return new AgentError(
      'DOCKER_FAILED',
      `dockerd refused ${doing} (HTTP ${statusOf(error)}): ${describe(error)}`,
      {
        statusCode: statusOf(error),
      },
    );
  }
}

/** One JSON object of a build or push progress stream. */
interface ProgressEvent {
  readonly stream?: string;
  readonly status?: string;
  readonly id?: string;
  readonly progressDetail?: { readonly current?: number };
  readonly aux?: { readonly ID?: string; readonly Digest?: string; readonly Size?: number };
  readonly error?: string;
  readonly errorDetail?: { readonly message?: string };
}

/**
 * Reads a progress stream to its end. dockerd answers 200 and then reports failures inside the
 * stream (`{"error": ...}`), so those become AgentErrors here.
 */
async function readProgress(
  stream: NodeJS.ReadableStream,
  doing: string,
  onEvent: (event: ProgressEvent) => void,
): Promise<void> {
  let rest = '';
  const handle = (line: string) => {
    if (!line.trim()) return;
    const event = JSON.parse(line) as ProgressEvent;
    if (event.error || event.errorDetail?.message) {
      const message = (event.errorDetail?.message ?? event.error ?? '').trim();
      throw new AgentError('DOCKER_FAILED', `dockerd failed ${doing}: ${message}`);
    }
    onEvent(event);
  };
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    rest += chunk.toString();
    const lines = rest.split('\n');
    rest = lines.pop()!;
    lines.forEach(handle);
  }
  handle(rest);
}

function statusOf(error: unknown): number | undefined {
  const status = (error as ModemError | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** dockerd's /version answer (or its error answer), or null when it is not JSON. */
function parseVersion(body: string): { Version?: unknown; ApiVersion?: unknown; message?: unknown } | null {
  try {
    return JSON.parse(body) as { Version?: unknown; ApiVersion?: unknown; message?: unknown } | null;
  } catch {
    return null;
  }
}

function describe(error: unknown): string {
  const e = error as ModemError | undefined;
  return (e?.json?.message ?? e?.message ?? String(error)).trim();
}

/** An image that is not on this host, with the `docker pull` that would bring it (the agent never pulls). */
function imageMissing(image: string, platform: string | undefined, why?: string): AgentError {
  return new AgentError(
    'IMAGE_MISSING',
    `Image ${image}${platform ? ` for ${platform}` : ''} is not on this host${why ? `, and ${why}` : ''}: ` +
      `docker pull ${platform ? `--platform ${platform} ` : ''}${image}, or set --verify-image.`,
    { image, platform },
  );
}
