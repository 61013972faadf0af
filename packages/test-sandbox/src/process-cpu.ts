import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

let ticks: number | undefined;

/** The clock ticks per second /proc/PID/stat counts CPU time in (USER_HZ: 100 on Linux). */
export function clockTicksPerSecond(): number {
  return (ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()));
}

/** CPU time (user + system, all threads) these processes used so far, in ms; one that exited counts 0. */
export function cpuMs(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      // utime and stime are fields 14 and 15 of stat, 12 and 13 after "pid (comm) ".
      total += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited
    }
  }
  return (total * 1000) / clockTicksPerSecond();
}

/**
 * Time these processes' live threads spent on a CPU so far, in ms, to the nanosecond (the scheduler's
 * own count, /proc/PID/task/TID/schedstat), where cpuMs() counts in 10 ms ticks: for figures of a few
 * ms each. Threads that ended no longer count (the difference between two readings is that of the
 * threads that lived through both: a process's lasting ones); a process that exited counts 0.
 */
export function onCpuMs(pids: readonly number[]): number {
  let ns = 0;
  for (const pid of pids) {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    let read = 0;
    for (const tid of tasks) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        read++;
      } catch {
        // ended meanwhile
      }
    }
    if (read === 0 && tasks.length > 0 && !existsSync(`/proc/${pid}/task/${tasks[0]}/schedstat`))
      throw new Error(
        'This kernel has no /proc/PID/task/TID/schedstat (CONFIG_SCHED_INFO): use cpuMs(), in ticks.',
      );
  }
  return ns / 1e6;
}

/**
 * onCpuMs of a process's threads other than its main one: for Node, V8's optimising compiler and
 * garbage collector workers and libuv's pool. Still busy after calls that all do the same means V8
 * is still compiling them: the process is not warm yet.
 */
export function otherThreadsOnCpuMs(pid: number): number {
  let main = 0;
  try {
    main = Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return 0;
  }
  return onCpuMs([pid]) - main;
}
