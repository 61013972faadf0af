/**
 * Unauthenticated channel attempts (issue 14): 1,000 `GET /api/agent/channel` without a credential of
 * the right shape (no Authorization header, or a bearer that is no agent credential) in 10 s against
 * the web server (scripts/serve.ts; built when stale), while a signed-in session calls auth.me five times a second. The
 * same session's calls for 10 s before the flood are the reference, in the same run. Goal: every
 * attempt refused (401, before any database work: dial-out.integration.test.ts shows that), auth.me's
 * p95 during the flood within 2x the reference's.
 *   pnpm exec tsx bench/channel-flood.ts [--attempts 1000] [--seconds 10]
 * Figures depend on the machine: on a shared one, say so next to them.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { percentile, startNextOnly } from './lib/fleet-figures.ts';

const { values } = parseArgs({
  options: {
    attempts: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
  },
});
const attempts = Number(values.attempts);
const seconds = Number(values.seconds);

const fleet = await startNextOnly('channel-flood');
try {
  const url = fleet.server.url;
  /** auth.me every 200 ms for `ms`: each call's time. */
  const session = async (ms: number) => {
    const times: number[] = [];
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const started = performance.now();
      const r = await fleet.api.query('auth.me');
      if (r.status === 200) times.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return times;
  };
  // Warm: the first requests of the web server load routes.
  await session(2_000);
  await fetch(`${url}/api/agent/channel`).then((r) => r.body?.cancel());
  const reference = await session(seconds * 1000);

  const statuses = new Map<number, number>();
  const flood = async () => {
    const gap = (seconds * 1000) / attempts;
    const started = Date.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < attempts; i++) {
      const due = started + i * gap;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const headers: Record<string, string> = i % 2 ? { authorization: `Bearer not-a-credential-${i}` } : {};
      pending.push(
        fetch(`${url}/api/agent/channel`, { headers, signal: AbortSignal.timeout(30_000) }).then(
          async (r) => {
            await r.body?.cancel();
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          },
          () => void statuses.set(0, (statuses.get(0) ?? 0) + 1),
        ),
      );
    }
    await Promise.all(pending);
    return Date.now() - started;
  };
  const [during, floodMs] = await Promise.all([session(seconds * 1000), flood()]);

  const refused = statuses.get(401) ?? 0;
  console.log(`flood: ${attempts} unauthenticated channel attempts in ${(floodMs / 1000).toFixed(1)} s`);
  console.log(`flood answers: ${[...statuses].map(([s, c]) => `${s || 'no answer'}: ${c}`).join(', ')}`);
  console.log(
    `auth.me before the flood: p50 ${percentile(reference, 50).toFixed(0)} ms, p95 ${percentile(reference, 95).toFixed(0)} ms (${reference.length} calls)`,
  );
  console.log(
    `auth.me during the flood: p50 ${percentile(during, 50).toFixed(0)} ms, p95 ${percentile(during, 95).toFixed(0)} ms (${during.length} calls)`,
  );
  console.log(`errors: ${attempts - refused}`);
  console.log(
    `ratio auth.me p95 during the flood / before: ${(percentile(during, 95) / percentile(reference, 95)).toFixed(2)}`,
  );
} finally {
  await fleet.stop();
}
