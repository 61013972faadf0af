import {
  BUILD_STEPS,
  type BuildCheck,
  type BuildEvent,
  type BuildPackageFacts,
  type BuildReport,
  type BuildRequest,
  type BuildStatus,
  type BuildStepName,
  type BuildStepReport,
  type BuiltTag,
} from './build-report.ts';

/** A package of a build on this host, with the sha256 it was uploaded under, if it was. */
export interface PackageFile {
  readonly path: string;
  readonly sha256?: string;
}

/** Log lines kept per step; the oldest go first (a push of 130 tags logs a few hundred). */
const STEP_LOG_LIMIT = 256 * 1024;

/**
 * One build as it runs: its status, its steps with their logs, its checks and tags, and its live log;
 * reports and events show it.
 */
export class Build {
  readonly controller = new AbortController();
  status: BuildStatus = 'queued';
  readonly createdAt = new Date().toISOString();
  startedAt?: string;
  finishedAt?: string;
  error?: string;
  packages: BuildPackageFacts[] = [];
  version?: string;
  readonly steps = BUILD_STEPS.map(
    (name): { -readonly [K in keyof BuildStepReport]: BuildStepReport[K] } => ({
      name,
      status: 'queued',
      log: '',
    }),
  );
  readonly checks: BuildCheck[] = [];
  readonly tags = new Map<string, BuiltTag>();
  /** Every tag of the plan in the scheme's order, once planned: reports list tags in it. */
  order: readonly string[] = [];
  /** Every line of every step, in order, with its step's name: the live log. */
  log = '';
  done: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly request: BuildRequest & { readonly packageFiles: readonly PackageFile[] },
    private readonly onEvent: ((event: BuildEvent) => void) | undefined,
  ) {}

  emit(event: BuildEvent): void {
    try {
      this.onEvent?.(event);
    } catch {
      // A listener's failure is not the build's.
    }
  }

  report(): BuildReport {
    const { auth, packageFiles: _files, ...request } = this.request;
    return {
      id: this.id,
      status: this.status,
      createdAt: this.createdAt,
      ...(this.startedAt ? { startedAt: this.startedAt } : {}),
      ...(this.finishedAt ? { finishedAt: this.finishedAt } : {}),
      ...(this.error ? { error: this.error } : {}),
      request: { ...request, ...(auth ? { username: auth.username } : {}) },
      ...(this.packages.length > 0 ? { package: this.packages[0]!, packages: [...this.packages] } : {}),
      ...(this.version ? { version: this.version } : {}),
      steps: this.steps.map((s) => ({ ...s })),
      checks: [...this.checks],
      tags: this.order.flatMap((tag) => this.tags.get(tag) ?? []),
      logLength: this.log.length,
    };
  }

  /** Runs one step: marks it running, collects its log, times it, and marks how it ended. */
  async step<T>(name: BuildStepName, fn: (log: (line: string) => void) => Promise<T>): Promise<T> {
    const step = this.steps.find((s) => s.name === name)!;
    if (name !== 'clean up') this.controller.signal.throwIfAborted();
    const started = performance.now();
    step.status = 'running';
    step.startedAt = new Date().toISOString();
    this.emit({ type: 'step', buildId: this.id, step: { ...step } });
    this.log += `==> ${name}\n`;
    const log = (line: string) => {
      step.log = (step.log + line + '\n').slice(-STEP_LOG_LIMIT);
      this.log += line + '\n';
      this.emit({ type: 'log', buildId: this.id, step: name, line });
    };
    try {
      const result = await fn(log);
      step.status = 'succeeded';
      return result;
    } catch (error) {
      step.status = this.controller.signal.aborted ? 'cancelled' : 'failed';
      log(`${step.status === 'cancelled' ? 'cancelled' : 'error'}: ${(error as Error).message}`);
      throw error;
    } finally {
      step.finishedAt = new Date().toISOString();
      step.durationMs = Math.round(performance.now() - started);
      this.emit({ type: 'step', buildId: this.id, step: { ...step } });
    }
  }

  /** Runs one check, records how it ended and logs it; a throw is the check's failure, not the build's. */
  async check(
    name: string,
    fn: () => Promise<Omit<BuildCheck, 'name' | 'durationMs'>>,
    log: (line: string) => void,
  ): Promise<BuildCheck> {
    this.controller.signal.throwIfAborted();
    const started = performance.now();
    let outcome: Omit<BuildCheck, 'name' | 'durationMs'>;
    try {
      outcome = await fn();
    } catch (error) {
      outcome = { status: 'fail', detail: (error as Error).message };
    }
    const check = { name, ...outcome, durationMs: Math.round(performance.now() - started) };
    this.checks.push(check);
    log(`${check.status.toUpperCase()} ${name}: ${check.detail} (${check.durationMs} ms)`);
    return check;
  }
}
