import { resolveArch, type TargetId } from '@binfleet/arch-table';
import type { VerifyCheck, VerifyMethod } from '@binfleet/agent-contract';
import { DockerodeClient } from '../adapters/dockerode-client.ts';
import { nodeHostOs } from '../adapters/node-host-os.ts';
import { VerifyService } from '../services/verify-service.ts';
import { parse, UsageError } from './args.ts';
import type { CommandContext } from './register-command.ts';
import { VERIFY_USAGE } from './usages.ts';

/** `verify [ARCH...]`: runs a real binary of each registered architecture; exit 1 when one fails. */
export async function verifyCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, {
    help: { type: 'boolean', short: 'h' },
    json: { type: 'boolean' },
    'probe-dir': { type: 'string' },
    'verify-image': { type: 'string' },
    'docker-socket': { type: 'string' },
    method: { type: 'string', multiple: true },
  });
  if (values.help) {
    ctx.out(VERIFY_USAGE);
    return 0;
  }
  const methods = values.method?.map((m) => {
    if (m !== 'probe' && m !== 'container') throw new UsageError('--method is probe or container.');
    return m as VerifyMethod;
  });
  const targets: TargetId[] | undefined = positionals.length
    ? [...new Set(positionals.flatMap((n) => resolveArch(n)))]
    : undefined;
  const probeDir = values['probe-dir'] ?? ctx.env.probeDir;
  const service = new VerifyService({
    registration: ctx.registration(),
    docker: new DockerodeClient(values['docker-socket'] ?? ctx.env.dockerSocket),
    os: nodeHostOs,
    imageTemplate: values['verify-image'] ?? ctx.env.verifyImage,
    ...(probeDir ? { probeDir } : {}),
  });
  const report = await service.verify({ ...(targets ? { targets } : {}), ...(methods ? { methods } : {}) });
  if (values.json) ctx.out(JSON.stringify(report, null, 2));
  else for (const check of report.checks) ctx.out(formatCheck(check));
  if (report.passed) return 0;
  if (!report.checks.some((c) => c.status === 'fail')) ctx.err(nothingVerified(report.checks));
  return 1;
}

/** A run without a single pass proves nothing: say so, and why, instead of exiting 0. */
function nothingVerified(checks: readonly VerifyCheck[]): string {
  if (checks.length === 0) {
    return 'Nothing was verified: no qemu-* entry is registered here. Register some (binfleet-agent register) or name the architectures to check.';
  }
  const reasons = [...new Set(checks.map((c) => c.detail))];
  return `Nothing was verified: every check was skipped (${reasons.join(' ')})`;
}

const MARK = { pass: 'PASS', fail: 'FAIL', skipped: 'SKIP' } as const;

function formatCheck(c: VerifyCheck): string {
  const output = c.output === undefined ? '' : ` -> ${c.output}`;
  return `${MARK[c.status]} ${c.target.padEnd(12)} ${c.method.padEnd(9)} ${String(Math.round(c.durationMs)).padStart(5)} ms${output}  ${c.detail}`;
}
