import { readFile } from 'node:fs/promises';
import type { BuildReport } from '@binfleet/agent-contract';
import { DEFAULT_MOUNT_POINT } from '../adapters/binfmt-fs.ts';
import { DockerodeClient } from '../adapters/dockerode-client.ts';
import { dpkgPackageReader } from '../adapters/dpkg-package-reader.ts';
import { FlockHostLock } from '../adapters/flock-host-lock.ts';
import { HttpRegistryClient } from '../adapters/http-registry-client.ts';
import { KernelBinfmtFs } from '../adapters/kernel-binfmt-fs.ts';
import { nodeHostOs } from '../adapters/node-host-os.ts';
import type { RegistryAuth } from '../adapters/registry-client.ts';
import { unshareSandboxes } from '../adapters/unshare-emulation-sandbox.ts';
import { takeRegistryCredentialsEnv, type AgentEnv } from '../env.ts';
import { HostProbe } from '../host/host-probe.ts';
import { ImageBuildService } from '../image-build/image-build-service.ts';
import { OperationLock } from '../services/operation-lock.ts';
import { parse, UsageError } from './args.ts';

export const BUILD_USAGE = `Usage: binfleet-agent build --package FILE... --push REGISTRY/REPOSITORY [options]

Builds the seed's images for every host architecture from one qemu-user-static package per
architecture, tests them and pushes them (multi-platform tags as OCI image indexes) through the
registry API; no dockerd is needed unless the checks run this host's own images.

  --package FILE        a qemu-user-static .deb (apt-get download qemu-user-static:ARCH); once per host
  --busybox FILE        a busybox-static .deb or static busybox binary; once per host (default: $BINFLEET_BUSYBOX
                        for this host's own architecture)
  --push REGISTRY/REPO  e.g. registry.example.com/multiarch/qemu-user-static or 127.0.0.1:5000/qemu
  --version V           the tag version (default: from the packages' Debian version)
  --no-checks           push without the seed's checks
  --insecure            plain HTTP to the registry (loopback registries always are)
  --json                print a JSON summary on stdout (progress goes to stderr either way)

Registry credentials come from the environment, never from arguments: BINFLEET_REGISTRY_USERNAME with
BINFLEET_REGISTRY_PASSWORD or BINFLEET_REGISTRY_PASSWORD_FILE (a file holding the password).
Exit status: 0 pushed, 1 the build failed (the message names the step), 2 usage.
`;

interface BuildIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** `build`: the builder agents' pipeline, from the command line (CI). */
export async function buildCommand(argv: string[], env: AgentEnv, io: BuildIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    package: { type: 'string', multiple: true },
    busybox: { type: 'string', multiple: true },
    push: { type: 'string' },
    version: { type: 'string' },
    'no-checks': { type: 'boolean' },
    insecure: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(BUILD_USAGE);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`Unexpected argument "${positionals[0]}". See build --help.`);
  if (!values.package?.length) throw new UsageError('Give at least one --package FILE. See build --help.');
  const push = /^([^/]+)\/(.+)$/.exec(values.push ?? '');
  if (!push) throw new UsageError('Give --push REGISTRY/REPOSITORY, e.g. 127.0.0.1:5000/qemu-user-static.');
  const auth = await registryAuth();

  const probe = await new HostProbe(nodeHostOs).facts();
  const docker = new DockerodeClient(env.dockerSocket);
  const service = new ImageBuildService({
    docker,
    machineBinfmt: new KernelBinfmtFs(DEFAULT_MOUNT_POINT),
    binfmtNamespaced: probe.binfmtNamespaced,
    lock: new OperationLock(undefined, FlockHostLock.forThisNamespace(env.lockDir)),
    lockWaitMs: 60_000,
    hostArch: env.hostArch ?? probe.machine,
    busybox: env.busybox,
    emulatorDir: env.qemuBinDir,
    testImageTemplate: env.verifyImage,
    os: nodeHostOs,
    packages: dpkgPackageReader,
    registry: new HttpRegistryClient(),
    sandboxes: unshareSandboxes,
  });
  const report = await service.run(
    {
      packages: values.package.map((path) => ({ path })),
      ...(values.busybox ? { busyboxes: values.busybox } : {}),
      registry: push[1]!,
      repository: push[2]!,
      ...(auth ? { auth } : {}),
      ...(values.insecure ? { insecure: true } : {}),
      ...(values.version !== undefined ? { version: values.version } : {}),
      ...(values['no-checks'] ? { skipChecks: true } : {}),
    },
    (event) => {
      if (event.type === 'step' && event.step.status === 'running') io.err(`==> ${event.step.name}`);
      if (event.type === 'log') io.err(event.line);
    },
  );
  const failedStep = report.steps.find((s) => s.status === 'failed')?.name;
  if (values.json) io.out(JSON.stringify(summaryOf(report, failedStep), null, 2));
  if (report.status === 'succeeded') {
    io.err(`pushed ${report.tags.length} tags to ${values.push}`);
    return 0;
  }
  io.err(
    `binfleet-agent build: failed at step "${failedStep ?? 'unknown'}": ${report.error ?? report.status}`,
  );
  return 1;
}

/** What CI keeps of a build: its outcome, packages, checks and every tag with its digest. */
function summaryOf(report: BuildReport, failedStep: string | undefined) {
  return {
    id: report.id,
    status: report.status,
    ...(report.error ? { error: report.error } : {}),
    ...(failedStep ? { failedStep } : {}),
    version: report.version,
    packages: (report.packages ?? []).map((p) => ({
      architecture: p.architecture,
      name: p.name,
      version: p.version,
      sha256: p.sha256,
      qemuVersion: p.qemuVersion,
    })),
    checks: report.checks.map((c) => ({ name: c.name, status: c.status, detail: c.detail })),
    tags: report.tags.map((t) => ({
      tag: t.tag,
      reference: t.reference,
      digest: t.digest,
      platform: t.platform,
      form: t.form,
    })),
  };
}

async function registryAuth(): Promise<RegistryAuth | undefined> {
  const found = takeRegistryCredentialsEnv();
  const password =
    found.password ??
    (found.passwordFile === undefined
      ? undefined
      : await readFile(found.passwordFile, 'utf8').then(
          (text) => text.replace(/\r?\n$/, ''),
          (error: NodeJS.ErrnoException) => {
            throw new UsageError(
              `BINFLEET_REGISTRY_PASSWORD_FILE ${found.passwordFile} cannot be read (${error.code}): name a file holding the password.`,
            );
          },
        ));
  if (found.username === undefined && password === undefined) return undefined;
  if (found.username === undefined || password === undefined) {
    throw new UsageError(
      'Give both BINFLEET_REGISTRY_USERNAME and BINFLEET_REGISTRY_PASSWORD (or BINFLEET_REGISTRY_PASSWORD_FILE), or neither.',
    );
  }
  return { username: found.username, password };
}
