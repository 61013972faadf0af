import { describe, expect, it } from 'vitest';
import { verifyFailure } from './job-runner.ts';

const check = (target: string, method: string, status: 'pass' | 'fail' | 'skipped', detail: string) => ({
  target,
  method,
  status,
  detail,
  durationMs: 1,
});

describe('verifyFailure', () => {
  it('names the failed checks', () => {
    expect(
      verifyFailure({
        checks: [
          check('aarch64', 'probe', 'pass', 'printed aarch64'),
          check('s390x', 'container', 'fail', 'exec format error'),
        ],
      }),
    ).toBe('Verification failed: s390x (container): exec format error');
  });

  it('says why every check was skipped when none ran, e.g. dockerd down', () => {
    expect(
      verifyFailure({
        checks: [
          check('aarch64', 'probe', 'skipped', 'no probe directory'),
          check('aarch64', 'container', 'skipped', 'dockerd is not reachable (ENOENT): start dockerd'),
        ],
      }),
    ).toBe(
      'Verification failed: no check passed, every check was skipped: aarch64 (probe): no probe directory; ' +
        'aarch64 (container): dockerd is not reachable (ENOENT): start dockerd',
    );
  });

  it('says when there was nothing to check', () => {
    expect(verifyFailure({ checks: [] })).toMatch(/no check ran/);
  });
});
