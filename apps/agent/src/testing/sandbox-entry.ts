/**
 * Runs agent code in a process of its own and prints the result as JSON, for integration tests that
 * start it inside a binfmt_misc sandbox: a process uses the binfmt_misc of its user namespace, so
 * code that spawns foreign binaries must itself run in there.
 *   node --import tsx sandbox-entry.ts facts
 *   node --import tsx sandbox-entry.ts verify '{"mountPoint": ..., "dockerSocket": ..., "probeDir": ...}'
 */
import type { VerifyMethod } from '@binfleet/agent-contract';
import type { TargetId } from '@binfleet/arch-table';
import { DockerodeClient } from '../adapters/dockerode-client.ts';
import { KernelBinfmtFs } from '../adapters/kernel-binfmt-fs.ts';
import { nodeHostOs } from '../adapters/node-host-os.ts';
import { HostProbe } from '../host/host-probe.ts';
import { RegistrationService } from '../services/registration-service.ts';
import { DEFAULT_IMAGE_TEMPLATE } from '../services/verify-image.ts';
import { VerifyService } from '../services/verify-service.ts';

export interface SandboxVerifyRequest {
  readonly mountPoint: string;
  readonly dockerSocket: string;
  readonly probeDir: string;
  readonly imageTemplate?: string;
  readonly targets?: TargetId[];
  readonly methods?: VerifyMethod[];
}

const [command, argument] = process.argv.slice(2);
const probe = new HostProbe(nodeHostOs);

if (command === 'facts') {
  console.log(JSON.stringify(await probe.facts()));
} else if (command === 'verify') {
  const request = JSON.parse(argument ?? '{}') as SandboxVerifyRequest;
  const verify = new VerifyService({
    registration: new RegistrationService(new KernelBinfmtFs(request.mountPoint), probe),
    docker: new DockerodeClient(request.dockerSocket),
    os: nodeHostOs,
    probeDir: request.probeDir,
    imageTemplate: request.imageTemplate ?? DEFAULT_IMAGE_TEMPLATE,
  });
  console.log(JSON.stringify(await verify.verify({ targets: request.targets, methods: request.methods })));
} else {
  console.error(`usage: sandbox-entry.ts facts | verify JSON (got ${command})`);
  process.exitCode = 2;
}
