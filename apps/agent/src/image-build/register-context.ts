import {
  matchTargets,
  REGISTER_SCRIPT_PATH,
  renderRegisterScript,
  type TargetId,
} from '@binfleet/arch-table';
import { AgentError } from '../errors.ts';
import type { TarEntry } from './tar-stream.ts';

/** Applets the entrypoint runs (sh, mount, uname) and a few for `docker run --entrypoint sh` debugging. */
const BUSYBOX_APPLETS = ['sh', 'cat', 'ls', 'mount', 'umount', 'uname', 'echo', 'printf', 'test'] as const;

/**
 * The register image's root: Debian's static busybox and the entrypoint rendered from the arch table
 * (no emulators; the full image adds them). Also what the emulated checks unpack and run.
 */
export function registerRoot(busyboxPath: string): TarEntry[] {
  return [
    { type: 'dir', name: 'bin' },
    { type: 'file', name: 'bin/busybox', path: busyboxPath, mode: 0o755 },
    ...BUSYBOX_APPLETS.map((applet) => ({
      type: 'symlink' as const,
      name: `bin/${applet}`,
      target: 'busybox',
    })),
    { type: 'dir', name: 'usr' },
    { type: 'dir', name: 'usr/bin' },
    {
      type: 'file',
      name: REGISTER_SCRIPT_PATH.slice(1),
      data: renderRegisterScript({ interpreterDir: '/usr/bin', suffix: '-static' }),
      mode: 0o755,
    },
  ];
}

/**
 * Refuses a busybox that could not run in a FROM scratch image on the package's host: another
 * architecture, or a dynamically linked one (it would fail with a bare "no such file").
 */
export function checkBusybox(path: string, head: Uint8Array | undefined, fromArch: TargetId): void {
  const hint =
    "use the static busybox of Debian's busybox-static package for that architecture (dpkg-deb -x busybox-static_*.deb; bin/busybox)";
  if (!head) throw new AgentError('INVALID_INPUT', `No busybox at ${path}: ${hint}.`);
  const targets = matchTargets(head);
  if (!targets.includes(fromArch)) {
    throw new AgentError(
      'INVALID_INPUT',
      `${path} is not a ${fromArch} executable (${targets.length ? targets.join('/') : 'not an ELF executable'}): ${hint}.`,
    );
  }
  if (hasInterpreter(head)) {
    throw new AgentError('INVALID_INPUT', `${path} is dynamically linked: ${hint}.`);
  }
}

const PT_INTERP = 3;

/** Whether the ELF program headers (within `head`) ask for a dynamic loader. */
export function hasInterpreter(head: Uint8Array): boolean {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const is64 = head[4] === 2;
  const le = head[5] === 1;
  const phoff = is64 ? Number(view.getBigUint64(0x20, le)) : view.getUint32(0x1c, le);
  const phentsize = view.getUint16(is64 ? 0x36 : 0x2a, le);
  const phnum = view.getUint16(is64 ? 0x38 : 0x2c, le);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > head.length) break;
    if (view.getUint32(at, le) === PT_INTERP) return true;
  }
  return false;
}
