/**
 * Sign-in under a flood (issue 16): 64 concurrent sign-ins with unknown usernames for 30 s against
 * the web server (scripts/serve.ts; built when stale), all from this machine's address; meanwhile a real user whose browser
 * signed in before (its device cookie) signs in again, once a second, and an already signed-in session
 * calls auth.me five times a second. Goals: real sign-in p95 < 1,000 ms, auth.me p95 < 100 ms.
 *   pnpm exec tsx bench/login-flood.ts [--seconds 30] [--concurrency 64]
 * Figures depend on the machine: on a shared one, say so next to them.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ApiClient } from '../apps/web/src/server/testing/api-client.ts';
import { TEST_ADMIN } from '../apps/web/src/server/testing/fixture.ts';
import { percentile, startNextOnly } from './lib/fleet-figures.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    concurrency: { type: 'string', default: '64' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);

const fleet = await startNextOnly('login-flood');
try {
  const url = fleet.server.url;
  // The admin's browser: signed in by the fleet, so it holds a device cookie.
  const browser = fleet.api;
  const end = Date.now() + seconds * 1000;
  const statuses = new Map<number, number>();
  const floodOne = async (i: number) => {
    const status = (
      await new ApiClient(url)
        .mutation('auth.login', {
          username: `nobody-${i}`,
          password: `guess-${i}-password`,
        })
        .catch(() => ({ status: 0 }))
    ).status;
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  };
  let n = 0;
  const flood = Array.from({ length: concurrency }, async () => {
    while (Date.now() < end) await floodOne(n++);
  });

  const signIns: number[] = [];
  const signInFailures: string[] = [];
  const realUser = (async () => {
    while (Date.now() < end) {
      const again = browser.sameBrowser();
      const started = performance.now();
      const r = await again.mutation('auth.login', TEST_ADMIN);
      signIns.push(performance.now() - started);
      if (r.status !== 200) signInFailures.push(`${r.status} ${r.error?.message ?? ''}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();

  const mes: number[] = [];
  const session = (async () => {
    while (Date.now() < end) {
      const started = performance.now();
      const r = await browser.query('auth.me');
      if (r.status === 200) mes.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();

  await Promise.all([...flood, realUser, session]);
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  console.log(`flood: ${total} sign-in attempts in ${seconds} s from ${concurrency} concurrent clients`);
  console.log(`flood answers: ${[...statuses].map(([s, c]) => `${s}: ${c}`).join(', ')}`);
  console.log(
    `real sign-ins: ${signIns.length}, refused: ${signInFailures.length}${signInFailures.length ? ` (${signInFailures[0]})` : ''}`,
  );
  console.log(`real sign-in p50: ${percentile(signIns, 50).toFixed(0)} ms`);
  console.log(`auth.me p50: ${percentile(mes, 50).toFixed(0)} ms (${mes.length} calls)`);
  console.log(`flood answered 429: ${statuses.get(429) ?? 0}, 503: ${statuses.get(503) ?? 0}`);
  console.log(`real sign-in p95: ${percentile(signIns, 95).toFixed(0)} ms`);
  console.log(`auth.me p95: ${percentile(mes, 95).toFixed(0)} ms`);
} finally {
  await fleet.stop();
}
