import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { UpgradeAgentInput, UpgradeAgentOutcome } from '@binfleet/agent-contract';
import type { AgentInstall } from '../adapters/agent-install.ts';
import { AgentError } from '../errors.ts';
import type { LogRecord } from './reconciler.ts';

/** The largest agent tarball taken (the real one is a few MB). */
export const MAX_AGENT_TARBALL_BYTES = 256 * 1024 * 1024;

export interface AgentUpgradeDeps {
  readonly install: AgentInstall;
  /** The control plane this agent joined (its URL), or undefined for a standalone agent. */
  readonly serverUrl: () => Promise<string | undefined>;
  readonly version: string;
  /** Called once the new version is in place and the answer is on its way: the agent stops and starts again on it. */
  readonly restart: () => void;
  readonly log: (record: LogRecord) => void;
  /** How long the download may take. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/**
 * `upgradeAgent`: downloads the tarball from the control plane this agent already trusts (the URL it
 * joined and heartbeats to, the same TLS trust), bounded in size and time, checks its sha256,
 * unpacks it beside the running version and switches `current` to it, then asks to be restarted.
 * Anything that fails before the switch leaves the running agent as it was, and says why.
 */
export class AgentUpgrade {
  private running = false;

  constructor(private readonly deps: AgentUpgradeDeps) {}

  async upgrade(input: UpgradeAgentInput): Promise<UpgradeAgentOutcome> {
    const { version } = this.deps;
    if (input.version === version) return { status: 'current', version, previousVersion: version };
    if (this.running) throw new AgentError('BUSY', 'An upgrade of this agent is in progress already.');
    this.running = true;
    let outcome: UpgradeAgentOutcome;
    try {
      outcome = await this.install(input);
    } catch (error) {
      const failure =
        error instanceof AgentError
          ? error
          : new AgentError(
              'UPGRADE_FAILED',
              `Could not install binfleet-agent ${input.version}: ${(error as Error).message}; this agent keeps running version ${version}.`,
            );
      this.deps.log({
        event: 'upgrade-failed',
        level: 'warn',
        version: input.version,
        message: failure.message,
      });
      throw failure;
    } finally {
      this.running = false;
    }
    // Once this answer is handed back: serve then stops (letting requests in progress, this one
    // among them, finish) and starts again on the new version.
    setImmediate(() => this.deps.restart());
    return outcome;
  }

  private async install(input: UpgradeAgentInput): Promise<UpgradeAgentOutcome> {
    const { install, version, log } = this.deps;
    const keeps = `this agent keeps running version ${version}`;
    const problem = await install.problem();
    if (problem) throw new AgentError('UPGRADE_FAILED', `Cannot upgrade in place: ${problem}; ${keeps}.`);
    const serverUrl = await this.deps.serverUrl();
    if (!serverUrl)
      throw new AgentError(
        'UPGRADE_FAILED',
        `This agent has joined no control plane to download from; ${keeps}.`,
      );
    if (input.size > MAX_AGENT_TARBALL_BYTES)
      throw new AgentError(
        'UPGRADE_FAILED',
        `${input.file} is ${input.size} bytes, more than the ${MAX_AGENT_TARBALL_BYTES} an agent tarball may be; ${keeps}.`,
      );
    log({ event: 'upgrade-started', version: input.version, from: version, file: input.file });
    const work = await install.workDir();
    try {
      const file = join(work, input.file);
      const url = new URL(`agent/files/${input.file}`, serverUrl.endsWith('/') ? serverUrl : `${serverUrl}/`);
      const sha256 = await this.download(url, file, input.size, keeps);
      if (sha256 !== input.sha256)
        throw new AgentError(
          'UPGRADE_FAILED',
          `${input.file} from ${url.origin} does not match its sha256 (expected ${input.sha256}, got ${sha256}): the download was damaged or altered; nothing was installed and ${keeps}.`,
        );
      const installedAt = await install.unpack(file, input.version);
      const { previous } = await install.activate(input.version);
      log({ event: 'upgraded', version: input.version, from: version, installedAt, kept: previous ?? null });
      return { status: 'restarting', version: input.version, previousVersion: version, installedAt };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Streams the file to disk, hashing it; refuses more bytes than announced. Returns its sha256. */
  private async download(url: URL, file: string, size: number, keeps: string): Promise<string> {
    const timeoutMs = this.deps.timeoutMs ?? 120_000;
    const fetchFn = this.deps.fetch ?? fetch;
    const fail = (why: string) =>
      new AgentError('UPGRADE_FAILED', `Could not download ${url.href} (${why}); ${keeps}.`);
    let response: Response;
    try {
      response = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw fail(cause);
    }
    if (!response.ok || !response.body) throw fail(`HTTP ${response.status}`);
    const length = Number(response.headers.get('content-length') ?? size);
    if (length !== size) throw fail(`it is ${length} bytes, the control plane said ${size}`);
    const hash = createHash('sha256');
    let received = 0;
    const counted = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream).map(
      (chunk: Buffer) => {
        received += chunk.length;
        if (received > size) throw new Error(`more than the ${size} bytes announced`);
        hash.update(chunk);
        return chunk;
      },
    );
    try {
      await pipeline(counted, createWriteStream(file, { mode: 0o600 }));
    } catch (error) {
      throw fail((error as Error).message);
    }
    return hash.digest('hex');
  }
}
