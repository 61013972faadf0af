import {
  credentialFindings,
  nativeFindings,
  overlapFindings,
  type HostExecutable,
  type KernelEntry,
  type LintFinding,
} from '@binfleet/arch-table';
import type { DesiredState } from '@binfleet/agent-contract';
import { AgentError } from '../errors.ts';
import type { PlannedAction } from './registration-plan.ts';

/** What the guard reads of the host: HostProbe over the host-os adapter is the real one. */
export interface GuardHost {
  /** An executable regular file. */
  interpreterExists(path: string): Promise<boolean>;
  /** The first bytes of the host's own programs (the running interpreter, /bin/sh). */
  hostExecutables(): Promise<HostExecutable[]>;
}

export interface GuardOptions {
  /** Register beside entries of other names whose magic overlaps. */
  readonly force?: boolean;
}

export interface GuardVerdict {
  /** For the caller (CLI stderr, API answer): the C flag's risk, what was forced or allowed. */
  readonly warnings: readonly string[];
  /** Native targets registered anyway (desired.forceNative): the caller writes an audit line. */
  readonly forcedNative: readonly LintFinding[];
}

/**
 * The rails every registration passes, whoever asks (CLI, API, policies, reconciler), before anything
 * is written: never a target that takes the host's own programs (unless forceNative), never an
 * emulator that is missing (unless allowMissing without F), never beside an entry of another name
 * that overlaps (unless force). Refusals throw an AgentError saying what to do.
 */
export async function guardRegistration(
  host: GuardHost,
  desired: DesiredState,
  actions: readonly PlannedAction[],
  current: readonly KernelEntry[],
  options: GuardOptions,
): Promise<GuardVerdict> {
  const registering = [...new Set(actions.flatMap((a) => (a.kind === 'register' ? [a.target] : [])))];
  const warnings = credentialFindings(desired).map((f) => f.message);
  if (registering.length === 0) return { warnings, forcedNative: [] };

  const native = nativeFindings(registering, await ownPrograms(host));
  if (native.length > 0 && !desired.forceNative) {
    throw new AgentError(
      'NATIVE_TARGET',
      `Refused: ${native.map((f) => f.message).join(' ')} ` +
        'Leave these targets out (the host runs them natively; HOST_ARCH does not change that). ' +
        'Only to break this host on purpose: --force-native (API: forceNative).',
      { native: native.map((f) => ({ target: f.target, matches: f.other })) },
    );
  }
  for (const f of native)
    warnings.push(`--force-native: ${f.message} Remove it with: binfleet-agent remove ${f.target}`);

  const removed = new Set(actions.flatMap((a) => (a.kind === 'remove' ? [a.name] : [])));
  const overlaps = overlapFindings(
    registering,
    current.filter((e) => !removed.has(e.name)),
  );
  if (overlaps.length > 0 && !options.force) {
    throw new AgentError(
      'ENTRY_OVERLAP',
      `Refused: ${overlaps.map((f) => f.message).join(' ')} ` +
        'Remove or disable that entry first, or register anyway with --force (API: force).',
      { overlaps: overlaps.map((f) => ({ target: f.target, entry: f.other })) },
    );
  }
  for (const f of overlaps) warnings.push(`--force: ${f.message}`);

  const missing = await missingInterpreters(host, actions);
  if (missing.length > 0) {
    if (desired.persistent) {
      throw new AgentError(
        'INTERPRETER_MISSING',
        `Persistent (F) registration needs the interpreters to exist now; missing: ${missing.join(', ')}. ` +
          'Install the package that provides them (Debian/Ubuntu: apt-get install qemu-user-static) or point --qemu-path/--qemu-suffix at them.',
        { missing },
      );
    }
    if (!desired.allowMissing) {
      throw new AgentError(
        'INTERPRETER_MISSING',
        `The emulators are missing: ${missing.join(', ')}. Registered like this, every program of those ` +
          'architectures would fail to start. Install them (Debian/Ubuntu: apt-get install qemu-user-static), ' +
          'point --qemu-path/--qemu-suffix at them, or, for a staged install, give --allow-missing (API: allowMissing).',
        { missing },
      );
    }
    warnings.push(
      `--allow-missing: registered although the emulators are missing: ${missing.join(', ')}; their programs fail until these are installed.`,
    );
  }
  return { warnings, forcedNative: native };
}

/**
 * The host's own programs. None readable means the check cannot be made: refuse rather than guess
 * (the running interpreter is always readable on a sane host).
 */
async function ownPrograms(host: GuardHost): Promise<HostExecutable[]> {
  const programs = await host.hostExecutables();
  if (programs.length === 0) {
    throw new AgentError(
      'NATIVE_TARGET',
      "Refused: none of this host's own programs (the agent's interpreter, /bin/sh) could be read, so " +
        'binfleet cannot tell which targets the host runs natively. Check that the agent can read them.',
    );
  }
  return programs;
}

async function missingInterpreters(host: GuardHost, actions: readonly PlannedAction[]): Promise<string[]> {
  const paths = [...new Set(actions.flatMap((a) => (a.kind === 'register' ? [a.spec.interpreter] : [])))];
  const exists = await Promise.all(paths.map((p) => host.interpreterExists(p)));
  return paths.filter((_, i) => !exists[i]);
}
