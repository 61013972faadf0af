import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtures, hasSandboxSupport, startSandbox, type Sandbox, type SandboxOptions } from './index.ts';

// Debian's own qemu-aarch64 magic and mask, with the interpreter opened at register time (F).
const QEMU_AARCH64 = String.raw`:qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64-static:F`;

const MACHINE_BINFMT_MISC = '/proc/sys/fs/binfmt_misc';

const support = hasSandboxSupport();

describe.skipIf(!support.supported)(
  `binfmt_misc sandbox${support.supported ? '' : ` (skipped: ${support.reason})`}`,
  () => {
    const started: Sandbox[] = [];
    const sandbox = async (opts?: SandboxOptions) => {
      const created = await startSandbox(opts);
      started.push(created);
      return created;
    };
    afterEach(async () => {
      await Promise.all(started.splice(0).map((s) => s.stop()));
    });

    const register = async (s: Sandbox, line: string) => {
      // One write() per line, as binfmt_misc requires; `cat` does that for a short input.
      const result = await s.exec('sh', ['-c', 'cat > "$1/register"', 'sh', s.mountPoint], { input: line });
      expect(result).toMatchObject({ code: 0, stderr: '' });
    };
    const entries = async (s: Sandbox) =>
      (await s.exec('ls', [s.mountPoint])).stdout.split('\n').filter(Boolean);

    it('keeps each registration inside its own sandbox', async () => {
      const machineBefore = readdirSync(MACHINE_BINFMT_MISC);
      const [a, b] = await Promise.all([sandbox(), sandbox()]);

      await register(a, ':probe-a:E::probea::/bin/true:');

      expect(await entries(a)).toEqual(['probe-a', 'register', 'status']);
      expect(await entries(b)).toEqual(['register', 'status']);
      expect(readFileSync(join(a.hostMountPoint, 'probe-a'), 'utf8')).toBe(
        'enabled\ninterpreter /bin/true\nflags: \nextension .probea\n',
      );
      expect(readdirSync(MACHINE_BINFMT_MISC)).toEqual(machineBefore);
    });

    it('runs an arm64 binary only once qemu-aarch64 is registered in the sandbox', async () => {
      const busybox = fixtures().busybox('arm64');
      const s = await sandbox();

      const before = await s.exec(busybox, ['uname', '-m']);
      expect(before.code).toBe(126);
      expect(before.stderr).toMatch(/exec format error/i);

      await register(s, QEMU_AARCH64);

      expect(readFileSync(join(s.hostMountPoint, 'qemu-aarch64'), 'utf8')).toContain('flags: F\n');
      expect(await s.exec(busybox, ['uname', '-m'])).toMatchObject({ code: 0, stdout: 'aarch64\n' });
    });

    it('runs a server inside that the test process reaches on 127.0.0.1', async () => {
      const s = await sandbox();
      const server = s.spawn('node', [
        '-e',
        `require('node:http')
          .createServer((_req, res) => res.end(require('node:fs').readdirSync('${s.mountPoint}').join(',')))
          .listen(0, '127.0.0.1', function () { console.log(this.address().port); });`,
      ]);
      const port = await new Promise<string>((resolve) =>
        server.stdout!.once('data', (chunk) => resolve(`${chunk}`.trim())),
      );

      const response = await fetch(`http://127.0.0.1:${port}/`);

      expect(await response.text()).toBe('register,status');
    });

    it("unmounting the sandbox's binfmt_misc uncovers an empty directory, never the machine's", async () => {
      // The machine's binfmt_misc mounted, as on most hosts (and as a test run may find it).
      const machineMounted = existsSync(`${MACHINE_BINFMT_MISC}/register`);
      if (!machineMounted) execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', MACHINE_BINFMT_MISC]);
      try {
        const machineBefore = readdirSync(MACHINE_BINFMT_MISC);
        const s = await sandbox();
        expect(await s.exec('umount', [s.mountPoint])).toMatchObject({ code: 0 });

        // Nothing to register into: an agent inside sees binfmt_misc unmounted, as on a bare host.
        expect(await entries(s)).toEqual([]);
        const write = await s.exec('sh', [
          '-c',
          'echo ":probe-x:E::probex::/bin/true:" > "$1/register"',
          'sh',
          s.mountPoint,
        ]);
        expect(write.code).not.toBe(0);
        expect(readdirSync(MACHINE_BINFMT_MISC)).toEqual(machineBefore);

        // Mounted again inside, it is a fresh private one.
        expect(await s.exec('mount', ['-t', 'binfmt_misc', 'binfmt_misc', s.mountPoint])).toMatchObject({
          code: 0,
        });
        await register(s, ':probe-x:E::probex::/bin/true:');
        expect(await entries(s)).toEqual(['probe-x', 'register', 'status']);
        expect(readdirSync(MACHINE_BINFMT_MISC)).toEqual(machineBefore);
      } finally {
        if (!machineMounted) execFileSync('umount', [MACHINE_BINFMT_MISC]);
      }
    });

    it("stop() kills nothing of a sandbox made while it runs, the kernel's freed namespace numbers notwithstanding", async () => {
      // The kernel gives a new namespace the lowest free number: a sandbox made while another stops
      // gets the stopped one's numbers as soon as those are freed, and a stop that went on searching
      // by number killed its processes (integration files run side by side).
      for (let round = 0; round < 5; round++) {
        const stopping = await sandbox();
        stopping.spawn('sleep', ['600'], { stdio: 'ignore' });
        const stopped = stopping.stop();
        const next = await sandbox();
        const child = next.spawn('sleep', ['600'], { stdio: 'ignore' });
        await stopped;
        expect(child.exitCode, `round ${round}: the new sandbox's process`).toBeNull();
        expect(child.signalCode, `round ${round}: the new sandbox's process`).toBeNull();
        expect(await next.exec('true'), `round ${round}: the new sandbox`).toMatchObject({ code: 0 });
        await next.stop();
      }
    });

    it('stop() leaves no process and no mount behind', async () => {
      const mountPoint = mkdtempSync(join(tmpdir(), 'binfmt-sandbox-'));
      try {
        const s = await sandbox({ mountPoint });
        const namespace = readlinkSync(`/proc/${s.pid}/ns/mnt`);
        s.spawn('sleep', ['600'], { stdio: 'ignore' });
        // A daemon that left the process group must go too.
        await s.exec('sh', ['-c', 'setsid sleep 600 >/dev/null 2>&1 < /dev/null &']);
        expect(await entries(s)).toEqual(['register', 'status']);
        expect(readdirSync(mountPoint)).toEqual([]); // the mount is invisible outside

        await s.stop();

        expect(processesInMountNamespace(namespace)).toEqual([]);
        expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(mountPoint);
      } finally {
        rmSync(mountPoint, { recursive: true });
      }
    });
  },
);

function processesInMountNamespace(namespace: string): string[] {
  return readdirSync('/proc').filter((pid) => {
    try {
      return /^\d+$/.test(pid) && readlinkSync(`/proc/${pid}/ns/mnt`) === namespace;
    } catch {
      return false;
    }
  });
}
