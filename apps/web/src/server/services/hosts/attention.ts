/** What a host needs attention for: one kind per cause, each with its reason in words. */
export type AttentionKind =
  | 'unreachable'
  | 'shared-agent-url'
  | 'binfmt-not-mounted'
  | 'binfmt-read-only'
  | 'reconciler-failing'
  | 'self-test-failing'
  | 'self-test-never-run'
  | 'agent-behind';

export interface AttentionReason {
  readonly kind: AttentionKind;
  readonly message: string;
}

/** The columns of a host "needs attention" reads (no facts: thousands of hosts are counted at once). */
export interface AttentionHost {
  readonly hostname: string;
  readonly online: boolean;
  readonly agentUrl: string;
  /** 'dial-out': the agent holds a channel to the control plane and has no URL. */
  readonly transport: string;
  readonly reachable: boolean | null;
  readonly reachError: string | null;
  readonly binfmtMounted: boolean | null;
  readonly binfmtWritable: boolean | null;
  readonly reconcileError: string | null;
  readonly agentVersion: string | null;
  /** Whether it has a qemu entry registered (without one there is nothing to self-test). */
  readonly hasQemuEntries: boolean;
}

export interface AttentionContext {
  /** The agent version this control plane serves; null when it serves none. */
  readonly servedAgentVersion: string | null;
  /** The host's self-tests: any latest result failed, all passed, or none ever ran. */
  readonly selfTest: 'failed' | 'passed' | 'never';
  /** Other hosts advertising the same agent URL. */
  readonly sharingAgentUrl: readonly string[];
}

/** Every reason a host needs attention, in the order an admin should look at them; empty: none. */
export function attentionReasons(host: AttentionHost, context: AttentionContext): AttentionReason[] {
  const reasons: AttentionReason[] = [];
  if (host.reachable === false && host.transport === 'dial-out')
    reasons.push({
      kind: 'unreachable',
      message: `${host.online ? 'Heartbeats arrive, but the' : 'No heartbeats either, and the'} agent holds no channel open to the control plane: ${host.reachError ?? 'none open'}; check the agent's log for channel-failed (a proxy that buffers or cuts long requests, a refused credential).`,
    });
  else if (host.reachable === false)
    reasons.push({
      kind: 'unreachable',
      message: `${host.online ? 'Heartbeats arrive, but the' : 'No heartbeats either, and the'} control plane cannot reach ${host.agentUrl}: ${host.reachError ?? 'no answer'}; check that the agent listens there (--listen, --advertise-url) and that no firewall or NAT between the control plane and the host drops that port.`,
    });
  if (context.sharingAgentUrl.length > 0)
    reasons.push({
      kind: 'shared-agent-url',
      message: `${host.agentUrl} is also the agent URL of ${context.sharingAgentUrl.join(', ')}: calls meant for one host reach another; give each agent its own --advertise-url, or remove the stale host.`,
    });
  if (host.binfmtMounted === false)
    reasons.push({
      kind: 'binfmt-not-mounted',
      message:
        'binfmt_misc is not mounted: nothing can be registered; mount it (mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc) or enable the proc-sys-fs-binfmt_misc unit.',
    });
  else if (host.binfmtWritable === false)
    reasons.push({
      kind: 'binfmt-read-only',
      message:
        'binfmt_misc is read-only for the agent: run it as root with write access to /proc/sys/fs/binfmt_misc (not in a read-only container).',
    });
  if (host.reconcileError !== null)
    reasons.push({
      kind: 'reconciler-failing',
      message: `The reconciler is failing: ${host.reconcileError}`,
    });
  if (context.selfTest === 'failed')
    reasons.push({
      kind: 'self-test-failing',
      message: 'A self-test failed: open the host, read the failed verify and run it again once fixed.',
    });
  else if (context.selfTest === 'never' && host.hasQemuEntries)
    reasons.push({
      kind: 'self-test-never-run',
      message: 'No self-test has run: its registrations are unproven; run Verify on it.',
    });
  if (
    host.agentVersion !== null &&
    context.servedAgentVersion !== null &&
    compareVersions(host.agentVersion, context.servedAgentVersion) < 0
  )
    reasons.push({
      kind: 'agent-behind',
      message: `Its agent is ${host.agentVersion}; this control plane serves ${context.servedAgentVersion}: upgrade it (Upgrade agent… in its actions, admins) or run the install line on it again.`,
    });
  return reasons;
}

/**
 * Orders dotted versions by their numeric parts (1.10.0 after 1.9.2); a pre-release (1.2.0-rc.1)
 * comes before its release. Not a full semver: agent versions are package versions.
 */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core = '', pre] = v.split('-', 2);
    return { parts: core.split('.').map((p) => Number.parseInt(p, 10) || 0), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < Math.max(x.parts.length, y.parts.length); i++) {
    const d = (x.parts[i] ?? 0) - (y.parts[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre.localeCompare(y.pre, 'en', { numeric: true });
}
