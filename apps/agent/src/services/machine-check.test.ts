import { describe, expect, it } from 'vitest';
import { judgeUname } from './machine-check.ts';

const ran = (stdout: string, exitCode = 0, stderr = '') => ({ exitCode, stdout, stderr, timedOut: false });

describe('judgeUname', () => {
  it.each([
    ['aarch64', 'aarch64\n'],
    ['mips64el', 'mips64\n'],
    ['arm', 'armv7l\n'],
    ['i386', 'i686\n'],
    ['ppc64le', 'ppc64le\n'],
  ] as const)('%s passes when it prints %j', (target, stdout) => {
    expect(judgeUname(target, ran(stdout), 'probe', 1000)).toEqual({
      status: 'pass',
      output: stdout.trim(),
      detail: `probe printed ${stdout.trim()}`,
    });
  });

  it('fails a machine of another family, e.g. the host running it natively', () => {
    const judged = judgeUname('aarch64', ran('x86_64\n'), 'probe', 1000);
    expect(judged).toMatchObject({ status: 'fail', output: 'x86_64' });
    expect(judged.detail).toMatch(/not a arm-family machine/);
  });

  it('fails output no architecture name matches', () => {
    expect(judgeUname('s390x', ran('Segmentation fault'), 'probe', 1000).status).toBe('fail');
  });

  it('explains exec format error and a missing interpreter', () => {
    const noEntry = { stdout: '', stderr: '', timedOut: false, spawnError: 'ENOEXEC' };
    expect(judgeUname('aarch64', noEntry, 'probe', 1000).detail).toMatch(/exec format error.*register/);
    const noInterpreter = { ...noEntry, spawnError: 'ENOENT' };
    expect(judgeUname('aarch64', noInterpreter, 'probe', 1000).detail).toMatch(/could not open.*interpreter/);
  });

  it('reports a non-zero exit with stderr, and a hang', () => {
    expect(judgeUname('riscv64', ran('', 139, 'qemu: uncaught target signal 11'), 'probe', 1000)).toEqual({
      status: 'fail',
      detail: 'probe exited with 139: qemu: uncaught target signal 11',
    });
    const hung = { stdout: '', stderr: '', timedOut: true };
    expect(judgeUname('riscv64', hung, 'probe', 1000).detail).toBe(
      'probe did not finish within 1000 ms: the emulator hangs.',
    );
  });
});
