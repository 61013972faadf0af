import { encodeRegisterLine, targetRegisterSpec } from '@binfleet/arch-table';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../errors.ts';
import { MemoryBinfmtFs } from '../testing/memory-binfmt-fs.ts';
import { restoreBinfmtSnapshot, takeBinfmtSnapshot } from './binfmt-snapshot.ts';

const line = (target: 'aarch64' | 'arm' | 's390x', persistent = false) =>
  encodeRegisterLine(
    targetRegisterSpec(target, { interpreterDir: '/usr/bin', suffix: '-static', persistent }),
  );

describe('binfmt_misc snapshot', () => {
  it('puts back entries that were removed, changed, disabled or added', async () => {
    const fs = new MemoryBinfmtFs();
    await fs.register(line('aarch64'));
    await fs.register(line('arm'));
    await fs.setEnabled('qemu-arm', false);
    await fs.register(':python3:E::py::/usr/bin/python3:');
    const before = new Map(fs.entries);
    const snapshot = await takeBinfmtSnapshot(fs);

    await fs.remove('qemu-aarch64');
    await fs.register(line('aarch64', true));
    await fs.remove('python3');
    await fs.setEnabled('qemu-arm', true);
    await fs.register(line('s390x'));

    const done = await restoreBinfmtSnapshot(fs, snapshot);
    expect(fs.entries).toEqual(before);
    expect(done.sort()).toEqual(
      [
        'removed qemu-aarch64',
        'registered qemu-aarch64 again',
        'registered python3 again',
        'disabled qemu-arm again',
        'removed qemu-s390x',
      ].sort(),
    );
    expect(await restoreBinfmtSnapshot(fs, snapshot)).toEqual([]);
  });

  it('unmounts again what was not mounted, which drops every entry', async () => {
    const fs = new MemoryBinfmtFs();
    fs.mounted = false;
    const snapshot = await takeBinfmtSnapshot(fs);
    await fs.mount();
    await fs.register(line('aarch64', true));
    expect(await restoreBinfmtSnapshot(fs, snapshot)).toEqual(['unmounted /memory/binfmt_misc']);
    expect(fs.mounted).toBe(false);
    expect(fs.entries.size).toBe(0);
  });

  it('goes on after an entry it cannot put back and reports it', async () => {
    const fs = new MemoryBinfmtFs();
    await fs.register(line('aarch64'));
    await fs.register(line('arm'));
    const snapshot = await takeBinfmtSnapshot(fs);
    await fs.remove('qemu-aarch64');
    await fs.remove('qemu-arm');
    fs.refuse = (l) =>
      l.startsWith(':qemu-aarch64:') ? new AgentError('INTERPRETER_MISSING', 'gone') : undefined;
    await expect(restoreBinfmtSnapshot(fs, snapshot)).rejects.toThrowError(/qemu-aarch64 again: gone/);
    expect([...fs.entries.keys()]).toEqual(['qemu-arm']);
  });
});
