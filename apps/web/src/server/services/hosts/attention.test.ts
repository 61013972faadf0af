import { describe, expect, it } from 'vitest';
import { attentionReasons, compareVersions, type AttentionHost } from './attention.ts';

const healthy: AttentionHost = {
  hostname: 'h1',
  online: true,
  agentUrl: 'http://10.0.0.2:7070',
  transport: 'direct',
  reachable: true,
  reachError: null,
  binfmtMounted: true,
  binfmtWritable: true,
  reconcileError: null,
  agentVersion: '0.3.0',
  hasQemuEntries: true,
};
const fine = { servedAgentVersion: '0.3.0', selfTest: 'passed', sharingAgentUrl: [] } as const;
const kinds = (host: Partial<AttentionHost>, context: Partial<typeof fine> | object = {}) =>
  attentionReasons({ ...healthy, ...host }, { ...fine, ...context }).map((r) => r.kind);

describe('attentionReasons', () => {
  it('finds nothing on a healthy host, nor on one not checked yet', () => {
    expect(kinds({})).toEqual([]);
    expect(kinds({ reachable: null, binfmtMounted: null, agentVersion: null })).toEqual([]);
    expect(kinds({ hasQemuEntries: false }, { selfTest: 'never' })).toEqual([]);
  });

  it('names each cause, unreachable with the URL, the reason and what to do', () => {
    const [reason] = attentionReasons(
      { ...healthy, reachable: false, reachError: 'did not answer within 5 s' },
      fine,
    );
    expect(reason!.message).toMatch(
      /^Heartbeats arrive, but the control plane cannot reach http:\/\/10\.0\.0\.2:7070: did not answer within 5 s; check /,
    );
    expect(kinds({ binfmtMounted: false, binfmtWritable: false })).toEqual(['binfmt-not-mounted']);
    expect(kinds({ binfmtWritable: false })).toEqual(['binfmt-read-only']);
    expect(kinds({ reconcileError: 'EINVAL' })).toEqual(['reconciler-failing']);
    expect(kinds({}, { selfTest: 'failed' })).toEqual(['self-test-failing']);
    expect(kinds({}, { selfTest: 'never' })).toEqual(['self-test-never-run']);
    expect(kinds({ agentVersion: '0.2.9' })).toEqual(['agent-behind']);
    expect(kinds({ agentVersion: '0.4.0' })).toEqual([]);
    expect(kinds({}, { sharingAgentUrl: ['h2'] })).toEqual(['shared-agent-url']);
  });
});

describe('compareVersions', () => {
  it('says of a dial-out host that it holds no channel, not which URL it cannot reach', () => {
    const [reason] = attentionReasons(
      { ...healthy, transport: 'dial-out', agentUrl: '', reachable: false, reachError: 'no channel open' },
      fine,
    );
    expect(reason!.kind).toBe('unreachable');
    expect(reason!.message).toMatch(
      /^Heartbeats arrive, but the agent holds no channel open to the control plane: no channel open; check /,
    );
  });

  it('orders numerically, a pre-release before its release', () => {
    expect(compareVersions('1.10.0', '1.9.2')).toBe(1);
    expect(compareVersions('1.2.0-rc.1', '1.2.0')).toBe(-1);
    expect(compareVersions('1.2', '1.2.0')).toBe(0);
    expect(compareVersions('0.1.0-rc.10', '0.1.0-rc.9')).toBe(1);
  });
});
