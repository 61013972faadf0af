import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { matchTargets, type HostPlatform } from '@binfleet/arch-table';
import type { HostOs } from '../adapters/host-os.ts';
import type { PackageReader } from '../adapters/package-reader.ts';
import { AgentError } from '../errors.ts';
import { checkBusybox } from './register-context.ts';

const HINT =
  'give one static busybox per host architecture (busybox-static:ARCH, the .deb or its bin/busybox)';

/**
 * Matches busyboxes to hosts by what their ELF header says: each given busybox (a binary, or a
 * busybox-static .deb, unpacked under `dir`) must be of a host of the build, one per host; a host
 * without one gets the agent's own when that is of its architecture. Each must be static.
 */
export async function matchBusyboxes(
  deps: { readonly os: HostOs; readonly packages: PackageReader; readonly busybox?: string },
  hosts: readonly HostPlatform[],
  given: readonly string[],
  dir: string,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const [i, spec] of given.entries()) {
    const path = await binaryOf(deps, spec, join(dir, String(i)));
    const head = await deps.os.readHead(path, 64 * 1024);
    const machines = head ? matchTargets(head) : [];
    const host = hosts.find((h) => machines.includes(h.cpu));
    if (!host) {
      throw new AgentError(
        'INVALID_INPUT',
        `The busybox ${spec} is ${machines.length ? `a ${machines.join('/')} executable` : 'no ELF executable'}, ` +
          `but the packages are for ${hosts.map((h) => h.debian).join(', ')}: ${HINT}.`,
      );
    }
    checkBusybox(spec, head, host.cpu);
    // armel and armhf are one QEMU cpu; the tag plan refuses them together, so cpu is enough here.
    if (found.has(host.debian)) {
      throw new AgentError(
        'INVALID_INPUT',
        `${found.get(host.debian)} and ${spec} are both for ${host.debian}: ${HINT}.`,
      );
    }
    found.set(host.debian, path);
  }
  for (const host of hosts) {
    if (found.has(host.debian)) continue;
    const fallback = deps.busybox ?? '/bin/busybox';
    const head = await deps.os.readHead(fallback, 64 * 1024);
    if (!head || !matchTargets(head).includes(host.cpu)) {
      throw new AgentError(
        'INVALID_INPUT',
        `No busybox for ${host.debian}: ${HINT} (this agent's own, ${fallback}, is not of that architecture).`,
      );
    }
    checkBusybox(fallback, head, host.cpu);
    found.set(host.debian, fallback);
  }
  return found;
}

/** The busybox binary a spec names: itself, or bin/busybox (usr/bin/busybox) of a .deb unpacked. */
async function binaryOf(
  deps: { readonly os: HostOs; readonly packages: PackageReader },
  spec: string,
  dir: string,
): Promise<string> {
  const head = await deps.os.readHead(spec, 8);
  if (!head) throw new AgentError('INVALID_INPUT', `No busybox at ${spec}: ${HINT}.`);
  if (Buffer.from(head).toString('latin1') !== '!<arch>\n') return spec;
  await mkdir(dir, { recursive: true });
  await deps.packages.extract(spec, dir);
  for (const candidate of ['bin/busybox', 'usr/bin/busybox']) {
    if ((await deps.os.fileFacts(join(dir, candidate)))?.isFile) return join(dir, candidate);
  }
  throw new AgentError('INVALID_INPUT', `${spec} holds no bin/busybox: ${HINT}.`);
}
