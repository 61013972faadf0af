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
  /** `docker run --privileged`: what the seed tells users to register binfmt_misc entries with. */
  readonly privileged?: boolean;
  /** `docker run --cap-add`, e.g. SYS_ADMIN. */
  readonly capAdd?: readonly string[];
  /** `docker run --security-opt`, e.g. apparmor=unconfined. */
  readonly securityOpt?: readonly string[];
}

export interface RunOnceResult {
  /** undefined when the container was killed because it ran past the timeout. */
  readonly exitCode?: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export interface InfoOptions {
  /**
   * A reachable answer up to this old will do (heartbeats: the version almost never changes). Without
   * it dockerd is asked now, as verify needs; every answer asked for renews what later calls get.
   */
  readonly maxAgeMs?: number;
}

/** What the agent asks of dockerd. Failures are AgentErrors whose message says what to do. */
export interface DockerClient {
  /** Never throws: an absent dockerd is a fact to report, not an error. */
  info(options?: InfoOptions): Promise<DockerInfo>;
  /** Runs a command in a fresh container and removes the container, whatever happened. */
  runOnce(options: RunOnceOptions): Promise<RunOnceResult>;
  hasImage(name: string): Promise<boolean>;
}

export interface BuildImageOptions {
  /** The build context: a tar stream with the Dockerfile at its root. */
  readonly context: NodeJS.ReadableStream;
  /** Every name the image gets, e.g. 127.0.0.1:5000/qemu-user-static:x86_64-aarch64. */
  readonly tags: readonly string[];
  /**
   * Every image the Dockerfile names in FROM (but scratch). Each must be on this host: dockerd's builder
   * would pull a missing one from its registry, a connection nobody asked this host to make.
   */
  readonly from: readonly string[];
  /** os/arch[/variant] the image is for, recorded in its config (the classic builder records it). */
  readonly platform?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** Each line the builder prints (Step 1/3 : FROM scratch ...). */
  readonly onLog?: (line: string) => void;
}

export interface ImageFacts {
  readonly id: string;
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
  readonly size: number;
  readonly created: string;
  /** repository@sha256:... for each registry the image was pushed to or pulled from. */
  readonly repoDigests: readonly string[];
}

/** What image builds ask of dockerd; separate from DockerClient so that hosts that never build need none of it. */
export interface ImageClient {
  /** Builds with the classic builder (offline, records --platform) and gives the image id. */
  buildImage(options: BuildImageOptions): Promise<{ readonly id: string }>;
  /** `docker load` of a docker-archive tar (manifest.json, configs, layers): the images it names. */
  loadImage(archive: NodeJS.ReadableStream, signal?: AbortSignal): Promise<void>;
  /** Removes one name (and the image, when it was its last); false when there was no such image. */
  removeImage(name: string): Promise<boolean>;
  /** undefined when there is no such image. */
  inspectImage(name: string): Promise<ImageFacts | undefined>;
}
