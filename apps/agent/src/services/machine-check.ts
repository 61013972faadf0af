import { ArchTableError, getTarget, resolveArch, type TargetId } from '@binfleet/arch-table';

/** What a `uname -m` run left behind, whether it ran as a process or in a container. */
export interface UnameRun {
  readonly exitCode?: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly spawnError?: string;
}

export interface Judgement {
  readonly status: 'pass' | 'fail';
  readonly output?: string;
  readonly detail: string;
}

const OUTPUT_SHOWN = 200;

/**
 * Passes when `uname -m` ran and printed a machine of the target's family: an emulator reports its
 * own cpu name, not the target id (qemu-mips64el prints mips64, qemu-arm armv7l, qemu-i386 i686).
 */
export function judgeUname(target: TargetId, run: UnameRun, what: string, timeoutMs: number): Judgement {
  const output = run.stdout.trim().slice(0, OUTPUT_SHOWN);
  const shown = output === '' ? {} : { output };
  if (run.spawnError)
    return { status: 'fail', detail: `${what} could not start: ${spawnAdvice(run.spawnError)}` };
  if (run.timedOut)
    return {
      status: 'fail',
      ...shown,
      detail: `${what} did not finish within ${timeoutMs} ms: the emulator hangs.`,
    };
  if (run.exitCode !== 0) {
    const stderr = run.stderr.trim().slice(0, OUTPUT_SHOWN);
    return {
      status: 'fail',
      ...shown,
      detail: `${what} exited with ${run.exitCode ?? 'a signal'}${stderr ? `: ${stderr}` : ''}`,
    };
  }
  const family = getTarget(target).family;
  let printed: TargetId[];
  try {
    printed = resolveArch(output);
  } catch (error) {
    if (!(error instanceof ArchTableError)) throw error;
    printed = [];
  }
  if (printed.some((id) => getTarget(id).family === family)) {
    return { status: 'pass', output, detail: `${what} printed ${output}` };
  }
  return {
    status: 'fail',
    ...shown,
    detail: `${what} printed "${output}", not a ${family}-family machine: another entry or emulator ran it; see binfleet-agent status.`,
  };
}

function spawnAdvice(code: string): string {
  switch (code) {
    case 'ENOEXEC':
      return 'exec format error, no enabled binfmt_misc entry accepted it; register the target (binfleet-agent register).';
    case 'ENOENT':
      return "ENOENT, the kernel could not open the entry's interpreter; install qemu-user-static or re-register with the right --qemu-path.";
    case 'EACCES':
      return 'EACCES, the probe binary or the interpreter is not executable; chmod +x it.';
    default:
      return code;
  }
}
