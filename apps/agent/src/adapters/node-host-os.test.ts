import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeHostOs } from './node-host-os.ts';

// runEach against the real /bin/sh, with small programs written here: each program's output and exit
// status in order, whatever the output looks like, and a program that hangs killed alone.
describe('nodeHostOs.runEach', () => {
  let dir: string;
  const program = async (name: string, body: string) => {
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binfleet-run-each-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('gives each program its own output and exit status, in order, with the same arguments', async () => {
    const paths = [
      await program('echo-args', 'printf "%s|" "$@"; echo'),
      await program('no-newline', 'printf "no newline"; exit 3'),
      await program('empty', 'exit 0'),
      await program('blank-lines', 'printf "\\n\\nlast\\n\\n"'),
      join(dir, 'missing'),
    ];
    const results = await nodeHostOs.runEach(paths, ['--version', "it's", 'a b'], 5_000);
    expect(results).toEqual([
      { stdout: "--version|it's|a b|\n", stderr: '', exitCode: 0, timedOut: false },
      { stdout: 'no newline', stderr: '', exitCode: 3, timedOut: false },
      { stdout: '', stderr: '', exitCode: 0, timedOut: false },
      { stdout: '\n\nlast\n\n', stderr: '', exitCode: 0, timedOut: false },
      // The shell's "not found": the program could not be started.
      { stdout: '', stderr: '', exitCode: 127, timedOut: false },
    ]);
  });

  it('kills a program that outlives the timeout and still runs those after it', async () => {
    const paths = [
      await program('quick', 'echo one'),
      await program('hangs', 'echo started; sleep 30'),
      await program('after', 'echo three'),
    ];
    const started = Date.now();
    const results = await nodeHostOs.runEach(paths, [], 300);
    expect(results).toEqual([
      { stdout: 'one\n', stderr: '', exitCode: 0, timedOut: false },
      { stdout: '', stderr: '', timedOut: true },
      { stdout: 'three\n', stderr: '', exitCode: 0, timedOut: false },
    ]);
    // Not a timing assertion on the machine's speed: the 30 s sleep must not have been waited for.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('runs them at the lowest CPU priority in the background, at its own otherwise', async () => {
    // Field 19 of /proc/PID/stat is the nice value (the command in field 2 has no spaces here).
    const nice = await program('nice', 'cut -d" " -f19 /proc/$$/stat');
    const [background] = await nodeHostOs.runEach([nice], [], 5_000, { background: true });
    const [foreground] = await nodeHostOs.runEach([nice], [], 5_000);
    expect(background!.stdout.trim()).toBe('19');
    expect(foreground!.stdout.trim()).toBe(String(os.getPriority()));
  });

  it('returns nothing for no programs', async () => {
    expect(await nodeHostOs.runEach([], ['--version'], 1_000)).toEqual([]);
  });
});
