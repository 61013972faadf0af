/** What the audit page needs of an event (a row of `audit.list`). */
export interface AuditLine {
  readonly id: string;
  readonly at: Date;
  readonly actorName: string;
  readonly action: string;
  readonly targets: unknown;
  readonly outcome: 'success' | 'failure' | 'denied';
}

/** One line of the page: an event, or a run of repeats of one action with one outcome. */
export type AuditEntry<E extends AuditLine> =
  | { readonly kind: 'event'; readonly event: E }
  | { readonly kind: 'group'; readonly events: readonly E[]; readonly summary: string };

/** Runs shorter than this stay as single rows: two of a kind read fine without folding. */
export const MIN_GROUP = 3;
/** An attempt row is folded into an outcome of the same action and actor this soon after it. */
const ATTEMPT_WINDOW_MS = 5 * 60_000;

const NOUNS: Record<string, string> = {
  'auth.login': 'sign-ins',
  'auth.login.refused': 'refused sign-in windows',
  'auth.setup': 'first-run setups',
};
const OUTCOME_WORD = { success: 'successful', failure: 'failed', denied: 'denied' } as const;

const targetsOf = (e: AuditLine): string[] =>
  Array.isArray(e.targets) ? e.targets.filter((t): t is string => typeof t === 'string') : [];

/**
 * Newest first, as the server sends them: `x.attempt` rows followed by their outcome (`x`, same actor,
 * within minutes) are dropped, the outcome row says all; an attempt with no outcome stays visible.
 */
export function foldAttempts<E extends AuditLine>(events: readonly E[]): E[] {
  return events.filter((e, i) => {
    if (!e.action.endsWith('.attempt')) return true;
    const base = e.action.slice(0, -'.attempt'.length);
    // Newer events come before it in the list.
    return !events
      .slice(0, i)
      .some(
        (o) =>
          o.action === base &&
          o.actorName === e.actorName &&
          o.at.getTime() >= e.at.getTime() &&
          o.at.getTime() - e.at.getTime() <= ATTEMPT_WINDOW_MS,
      );
  });
}

/** "198 failed sign-ins for one user from 30 addresses". */
export function describeRun(events: readonly AuditLine[]): string {
  const first = events[0]!;
  const noun = NOUNS[first.action] ?? `${first.action} events`;
  const actors = new Set(events.map((e) => e.actorName)).size;
  const addresses = new Set(
    events.flatMap((e) => targetsOf(e).filter((t) => t.startsWith('from:'))).map((t) => t.slice(5)),
  ).size;
  const who = actors === 1 ? `for one user (${first.actorName})` : `for ${actors.toLocaleString()} users`;
  const from =
    addresses === 0
      ? ''
      : addresses === 1
        ? ' from one address'
        : ` from ${addresses.toLocaleString()} addresses`;
  return `${events.length.toLocaleString()} ${OUTCOME_WORD[first.outcome]} ${noun} ${who}${from}`;
}

/**
 * Consecutive failed or denied events of one action, MIN_GROUP or more, become one group line: a brute
 * force is one line, not a wall. Successes stay single (three hosts joining are three facts).
 */
export function groupRepeats<E extends AuditLine>(events: readonly E[]): AuditEntry<E>[] {
  const out: AuditEntry<E>[] = [];
  let i = 0;
  while (i < events.length) {
    const first = events[i]!;
    let j = i + 1;
    while (j < events.length && events[j]!.action === first.action && events[j]!.outcome === first.outcome)
      j++;
    const run = events.slice(i, j);
    if (run.length >= MIN_GROUP && first.outcome !== 'success')
      out.push({ kind: 'group', events: run, summary: describeRun(run) });
    else for (const event of run) out.push({ kind: 'event', event });
    i = j;
  }
  return out;
}
