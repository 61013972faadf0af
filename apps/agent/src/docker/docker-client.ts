import Docker from 'dockerode';
import { AgentError } from '../errors.ts';
import { demuxDockerLogs } from './demux-docker-logs.ts';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export interface DockerInfo {
  readonly reachable: boolean;
  /** Engine version, e.g. 20.10.24+dfsg1. */
  readonly version?: string;
  readonly apiVersion?: string;
  /** Why dockerd could not be asked, when it could not. */
  readonly error?: string;
}

export interface RunOnceOptions {
  readonly image: string;
  /** os/arch[/variant], e.g. linux/arm64. */
  readonly platform?: string;
  readonly cmd: readonly string[];
  readonly timeoutMs: number;
}

export interface RunOnceResult {
  /** undefined when the container was killed because it ran past the timeout. */
  readonly exitCode?: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** What the agent asks of dockerd. Failures are AgentErrors whose message says what to do. */
export interface DockerClient {
  /** Never throws: an absent dockerd is a fact to report, not an error. */
  info(): Promise<DockerInfo>;
  /** Runs a command in a fresh container and removes the container, whatever happened. */
  runOnce(options: RunOnceOptions): Promise<RunOnceResult>;
  hasImage(name: string): Promise<boolean>;
}

/** The error docker-modem rejects with: `statusCode` is set when dockerd answered at all. */
interface ModemError {
  readonly statusCode?: number;
  readonly json?: { readonly message?: string } | null;
  readonly message?: string;
}

/** The one adapter over dockerode; the rest of the agent sees only DockerClient. */
export class DockerodeClient implements DockerClient {
  private readonly docker: Docker;

  constructor(readonly socketPath: string = DEFAULT_DOCKER_SOCKET) {
    this.docker = new Docker({ socketPath });
  }

  async info(): Promise<DockerInfo> {
    try {
      const version = await this.docker.version();
      return { reachable: true, version: version.Version, apiVersion: version.ApiVersion };
    } catch (error) {
      return { reachable: false, error: describe(error) };
    }
  }

  async hasImage(name: string): Promise<boolean> {
    try {
      await this.docker.getImage(name).inspect();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw this.translate(error, `inspecting image ${name}`);
    }
  }

  async runOnce(options: RunOnceOptions): Promise<RunOnceResult> {
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer({
        Image: options.image,
        Cmd: [...options.cmd],
        ...(options.platform ? { platform: options.platform } : {}),
        AttachStdout: false,
        AttachStderr: false,
        Tty: false,
        HostConfig: { NetworkMode: 'none' },
      });
    } catch (error) {
      if (statusOf(error) === 404) {
        throw new AgentError(
          'IMAGE_MISSING',
          `Image ${options.image}${options.platform ? ` for ${options.platform}` : ''} is not on this host: ` +
            `docker pull ${options.platform ? `--platform ${options.platform} ` : ''}${options.image}, or set --verify-image.`,
          { image: options.image, platform: options.platform },
        );
      }
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

function statusOf(error: unknown): number | undefined {
  const status = (error as ModemError | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function describe(error: unknown): string {
  const e = error as ModemError | undefined;
  return (e?.json?.message ?? e?.message ?? String(error)).trim();
}
