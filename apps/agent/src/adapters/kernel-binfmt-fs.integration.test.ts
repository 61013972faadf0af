import { encodeRegisterLine, targetRegisterSpec } from '@binfleet/arch-table';
import { startSandbox, type Sandbox } from '@binfleet/test-sandbox';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentError } from '../errors.ts';
import { KernelBinfmtFs } from './kernel-binfmt-fs.ts';

// Without F: the kernel opens no interpreter at registration, so reaching the sandbox's binfmt_misc
// through /proc/PID/root (from this process's mount namespace) registers the same entries.
const lineOf = (target: 'aarch64' | 's390x') =>
  encodeRegisterLine(targetRegisterSpec(target, { interpreterDir: '/usr/bin', suffix: '-static' }));

describe('KernelBinfmtFs.batched on a real (sandboxed) binfmt_misc', () => {
  let sandbox: Sandbox;
  let fs: KernelBinfmtFs;
  beforeEach(async () => {
    sandbox = await startSandbox();
    fs = new KernelBinfmtFs(sandbox.hostMountPoint);
  });
  afterEach(() => sandbox?.stop());

  const umount = () => sandbox.exec('umount', [sandbox.mountPoint]);

  it('registers each line through one open register file, closed when the batch ends', async () => {
    let busy = '';
    await fs.batched(async () => {
      await fs.register(lineOf('aarch64'));
      await fs.register(lineOf('s390x'));
      // The file is held open meanwhile: binfmt_misc cannot be unmounted under the batch.
      const held = await umount();
      busy = held.code === 0 ? 'unmounted' : held.stderr;
    });
    expect(busy).toMatch(/busy/i);
    expect(await fs.list()).toEqual(['qemu-aarch64', 'qemu-s390x']);
    // Closed with the batch: nothing keeps the mount any more.
    expect((await umount()).code).toBe(0);
  });

  it('closes the file when a registration in the batch fails, and says why it failed', async () => {
    const failed = fs.batched(async () => {
      await fs.register(lineOf('aarch64'));
      await fs.register(lineOf('aarch64'));
    });
    await expect(failed).rejects.toThrow(AgentError);
    await expect(failed).rejects.toMatchObject({ code: 'ENTRY_EXISTS' });
    expect(await fs.list()).toEqual(['qemu-aarch64']);
    expect((await umount()).code).toBe(0);
  });
});
