import { describe, expect, it } from 'vitest';
import { describeRun, foldAttempts, groupRepeats, type AuditLine } from './audit-groups.ts';

let n = 0;
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, s));
const event = (over: Partial<AuditLine> & { at: Date }): AuditLine => ({
  id: `e${++n}`,
  actorName: 'olivia',
  action: 'auth.login',
  targets: ['olivia', 'from:10.0.0.1'],
  outcome: 'success',
  ...over,
});

describe('foldAttempts', () => {
  it('drops an attempt its outcome follows, keeps one that never got an outcome', () => {
    const outcome = event({ at: at(2), outcome: 'failure' });
    const folded = event({ at: at(1), action: 'auth.login.attempt' });
    const lonely = event({ at: at(0), action: 'auth.login.attempt', actorName: 'mallory' });
    expect(foldAttempts([outcome, folded, lonely])).toEqual([outcome, lonely]);
  });

  it('keeps an attempt whose outcome came much later (another sign-in)', () => {
    const later = event({ at: new Date(at(0).getTime() + 3_600_000) });
    const attempt = event({ at: at(0), action: 'auth.login.attempt' });
    expect(foldAttempts([later, attempt])).toEqual([later, attempt]);
  });
});

describe('groupRepeats', () => {
  it('folds a brute force into one line naming users and addresses', () => {
    const attack = Array.from({ length: 198 }, (_, i) =>
      event({ at: at(i), outcome: 'failure', targets: ['root', `from:10.0.0.${i % 30}`], actorName: 'root' }),
    );
    const before = event({ at: at(300), action: 'policy.set' });
    const entries = groupRepeats([before, ...attack]);
    expect(entries.map((e) => e.kind)).toEqual(['event', 'group']);
    expect(entries[1]).toMatchObject({
      summary: '198 failed sign-ins for one user (root) from 30 addresses',
    });
  });

  it('leaves runs shorter than three alone and splits runs at another outcome', () => {
    const a = event({ at: at(3), outcome: 'failure' });
    const b = event({ at: at(2), outcome: 'failure' });
    const c = event({ at: at(1) });
    expect(groupRepeats([a, b, c])).toEqual([
      { kind: 'event', event: a },
      { kind: 'event', event: b },
      { kind: 'event', event: c },
    ]);
  });

  it('leaves runs of successes alone', () => {
    const joins = [1, 2, 3].map((i) => event({ at: at(i), action: 'host.join' }));
    expect(groupRepeats(joins).map((e) => e.kind)).toEqual(['event', 'event', 'event']);
  });

  it('names other actions by their code and counts several actors', () => {
    const run = ['ann', 'bob', 'bob'].map((actorName, i) =>
      event({ at: at(i), action: 'job.create', outcome: 'denied', actorName, targets: ['host-1'] }),
    );
    expect(describeRun(run)).toBe('3 denied job.create events for 2 users');
  });
});
