import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  encodeRegisterLine,
  parseEntryFile,
  REGISTER_SCRIPT_PATH,
  targetRegisterSpec,
  targetsForHost,
  type TargetId,
} from '@binfleet/arch-table';
import { eachWithConcurrency } from '@binfleet/concurrency';
import type { EmulationSandboxes } from '../adapters/emulation-sandbox.ts';
import type { HostOs } from '../adapters/host-os.ts';
import { parseQemuVersion } from '../host/qemu-version.ts';
import type { AssembledHost } from './image-assembly.ts';
import type { BuildCheck } from './build-report.ts';

export interface EmulatedCheckDeps {
  readonly sandboxes: EmulationSandboxes;
  readonly os: HostOs;
  readonly containerTimeoutMs: number;
}

type Outcome = Omit<BuildCheck, 'name' | 'durationMs'>;
type Record = (name: string, fn: () => Promise<Outcome>) => Promise<unknown>;

/** Where the checks' own emulator entry goes: not `qemu-*`, so the entrypoint's --reset leaves it. */
const runnerEntry = (cpu: TargetId) => `binfleet-check-${cpu}`;

/**
 * The seed's checks of a foreign host's images, under emulation in a throwaway binfmt_misc: the
 * register image's entrypoint, unpacked from its own layer and run with `--reset` (no -p), must
 * register exactly that host's set, which is read from outside the sandbox; each emulator must answer
 * `-version`. `emulator` is this builder's own emulator for the host's cpu; it runs the host's
 * binaries, registered with F so that it works inside the unpacked root too.
 */
export async function runEmulatedChecks(
  deps: EmulatedCheckDeps,
  host: AssembledHost,
  emulator: string,
  workDir: string,
  record: Record,
): Promise<void> {
  const { build } = host;
  const cpu = build.host.cpu;
  const sandbox = await deps.sandboxes.start();
  try {
    const spec = targetRegisterSpec(cpu, { interpreterDir: '/', persistent: true });
    await sandbox.binfmt.register(
      encodeRegisterLine({ ...spec, name: runnerEntry(cpu), interpreter: emulator }),
    );

    // The emulators first: the set --reset then registers includes this builder's own architecture
    // (an arm64 host emulates x86_64), whose entry would take over every native binary after it.
    await record(
      `${build.host.debian}: each of ${host.emulators.size} emulators answers -version (emulated)`,
      async () => {
        const failed: string[] = [];
        const versions = new Set<string>();
        await eachWithConcurrency([...host.emulators.keys()], 2, async (target) => {
          const path = join(build.root, 'usr/bin', `qemu-${target}-static`);
          const result = await sandbox.run(path, ['-version'], deps.containerTimeoutMs);
          const found = parseQemuVersion(result.stdout);
          if (found) versions.add(found.version);
          else
            failed.push(
              `qemu-${target}-static (exit ${result.exitCode ?? 'none'}: ${(result.stderr || result.stdout).trim().slice(-120)})`,
            );
        });
        return failed.length === 0
          ? { status: 'pass', output: [...versions].join(' '), detail: `QEMU ${[...versions].join(', ')}` }
          : { status: 'fail', detail: `no QEMU version from ${failed.join('; ')}` };
      },
    );
    await record(
      `${build.host.debian}: :register --reset registers the ${cpu} host's entries (emulated)`,
      async () => {
        const root = join(workDir, `register-${build.host.debian}`);
        await mkdir(root, { recursive: true });
        const untar = await deps.os.run('tar', ['-xzf', host.register.layers[0]!.path, '-C', root], 60_000);
        if (untar.exitCode !== 0)
          return { status: 'fail', detail: `unpacking the register layer failed: ${untar.stderr.trim()}` };
        // As in a container: /proc there (busybox runs its applets through /proc/self/exe), with the
        // sandbox's binfmt_misc mounted in it.
        await mkdir(join(root, 'proc'), { recursive: true });
        const proc = await sandbox.run('mount', ['--rbind', '/proc', join(root, 'proc')], 10_000);
        if (proc.exitCode !== 0)
          return { status: 'fail', detail: `mounting /proc for the image failed: ${proc.stderr.trim()}` };
        const result = await sandbox.run(
          'chroot',
          [root, REGISTER_SCRIPT_PATH, '--reset'],
          deps.containerTimeoutMs,
        );
        if (result.exitCode !== 0) {
          return {
            status: 'fail',
            detail: `${REGISTER_SCRIPT_PATH} --reset exited with ${result.exitCode ?? (result.timedOut ? 'a timeout' : result.spawnError)}: ${(result.stderr || result.stdout).trim().slice(0, 300)}`,
          };
        }
        const names = (await sandbox.binfmt.list()).filter((n) => n.startsWith('qemu-')).sort();
        const want = targetsForHost(cpu)
          .map((t) => `qemu-${t}`)
          .sort();
        const wrong: string[] = [];
        for (const name of names) {
          const entry = parseEntryFile(name, (await sandbox.binfmt.read(name)) ?? '');
          const target = name.slice('qemu-'.length) as TargetId;
          const interpreter = targetRegisterSpec(target, {
            interpreterDir: '/usr/bin',
            suffix: '-static',
          }).interpreter;
          if (entry.interpreter !== interpreter || entry.flags !== '')
            wrong.push(`${name} (${entry.interpreter}, flags "${entry.flags}")`);
        }
        const missing = want.filter((n) => !names.includes(n));
        const extra = names.filter((n) => !want.includes(n));
        const ok = missing.length === 0 && extra.length === 0 && wrong.length === 0;
        return {
          status: ok ? 'pass' : 'fail',
          output: `${names.length} entries`,
          detail: ok
            ? `${names.length} qemu-* entries without flags, each with its /usr/bin emulator, none of the ${cpu} family`
            : [
                missing.length ? `missing ${missing.join(' ')}` : '',
                extra.length ? `unexpected ${extra.join(' ')}` : '',
                wrong.length ? `registered otherwise: ${wrong.join(', ')}` : '',
              ]
                .filter(Boolean)
                .join('; '),
        };
      },
    );
  } finally {
    await sandbox.stop();
  }
}
