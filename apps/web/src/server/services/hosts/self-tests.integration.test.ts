import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../../testing/fixture.ts';
import {
  startInProcessControlPlane,
  type InProcessControlPlane,
} from '../../testing/in-process-control-plane.ts';
import { selfTestOutcomes } from '../../testing/self-test-outcomes.ts';
import type { SelfTestCheck } from './self-tests.ts';

// A host's self-test outcome kept on its row with its results, on SQLite and PostgreSQL: the newest
// result of each target and method decides, skipped checks do not count, concurrent verifies of one
// host lose none of each other's results, and working it out again from the stored results agrees.

const check = (target: string, method: string, status: SelfTestCheck['status']): SelfTestCheck => ({
  target,
  method,
  status,
  output: status,
  durationMs: 10,
});

describe.each(DATABASES)('host self-tests on %s', (_name, database) => {
  let fixture: InProcessControlPlane;
  let n = 0;

  const newHost = async () => {
    n++;
    const host = await fixture.db.host.create({
      data: {
        agentId: `agent-self-test-${n}`,
        hostname: `self-test-${n}`,
        agentUrl: `http://127.0.0.1:${1000 + n}`,
        agentTokenSealed: 'not-a-sealed-token',
        heartbeatTokenHash: `hash-self-test-${n}`,
      },
    });
    return host.id;
  };
  const outcome = async (hostId: string) =>
    (await fixture.db.host.findUniqueOrThrow({ where: { id: hostId }, select: { selfTest: true } })).selfTest;

  /** The outcome the stored results of the host give, worked out by the tests' own reading. */
  const fromResults = async (hostId: string) =>
    selfTestOutcomes(await fixture.db.verifyResult.findMany({ where: { hostId } })).get(hostId) ?? null;

  beforeAll(async () => {
    fixture = await startInProcessControlPlane({ name: 'self-tests', database });
  }, 60_000);

  afterAll(() => fixture?.stop());

  it('keeps the outcome of the newest result of each target and method', async () => {
    const selfTests = fixture.cp.hosts.selfTests;
    const host = await newHost();
    const other = await newHost();
    expect(await outcome(host)).toBeNull();

    // Only skipped checks: nothing was proven either way.
    await selfTests.record(host, null, [check('aarch64', 'probe', 'skipped')]);
    expect(await outcome(host)).toBeNull();

    await selfTests.record(host, null, [
      check('aarch64', 'probe', 'passed'),
      check('arm', 'probe', 'passed'),
    ]);
    expect(await outcome(host)).toBe('passed');

    // A newer failure of one target and method fails the host...
    await selfTests.record(host, null, [check('arm', 'probe', 'failed')]);
    expect(await outcome(host)).toBe('failed');
    // ...another method passing on that target does not clear it...
    await selfTests.record(host, null, [check('arm', 'container', 'passed')]);
    expect(await outcome(host)).toBe('failed');
    // ...nor does a skip of it; the same target and method passing again does.
    await selfTests.record(host, null, [check('arm', 'probe', 'skipped')]);
    expect(await outcome(host)).toBe('failed');
    await selfTests.record(host, null, [check('arm', 'probe', 'passed')]);
    expect(await outcome(host)).toBe('passed');

    // Another host's results are its own.
    await selfTests.record(other, null, [check('s390x', 'probe', 'failed')]);
    expect(await outcome(other)).toBe('failed');
    expect(await outcome(host)).toBe('passed');
    expect(await outcome(host)).toBe(await fromResults(host));
  });

  it('concurrent verifies of one host end with the outcome of all their results', async () => {
    const selfTests = fixture.cp.hosts.selfTests;
    const host = await newHost();
    // Each round, several verifies at once, some of them of the same target and method.
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          selfTests.record(host, null, [
            check(i % 2 ? 'aarch64' : 'riscv64', 'probe', (i + round) % 3 === 0 ? 'failed' : 'passed'),
            check('ppc64le', i % 2 ? 'probe' : 'container', 'passed'),
          ]),
        ),
      );
      expect(await outcome(host)).toBe(await fromResults(host));
    }
  });

  it('works every host out again from the stored results, as it kept them', async () => {
    const hosts = await fixture.db.host.findMany({ select: { id: true, selfTest: true } });
    expect(hosts.some((h) => h.selfTest === 'failed')).toBe(true);
    expect(hosts.some((h) => h.selfTest === 'passed')).toBe(true);
    await fixture.db.host.updateMany({ data: { selfTest: null } });
    await fixture.cp.hosts.selfTests.refreshAll();
    for (const h of hosts) expect(await outcome(h.id)).toBe(h.selfTest);
  });
});
