import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * apps/web/scripts/seed-fleet.ts `--hosts N --live` of the checkout `repo`, on the database in `env`
 * (the server's DATABASE_URL and BINFLEET_DATA_DIR): resolves once the hosts are seeded and the live
 * ones heartbeat (one UPDATE each every 10 s, as a fleet would), with the function that stops it.
 */
export async function seedLiveFleet(
  repo: string,
  hosts: number,
  env: Readonly<Record<string, string>>,
): Promise<() => void> {
  const seed = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/seed-fleet.ts', '--hosts', String(hosts), '--live'],
    { cwd: join(repo, 'apps/web'), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((seeded, reject) => {
    seed.once('exit', (code) => reject(new Error(`seed-fleet.ts exited with ${code}`)));
    createInterface({ input: seed.stdout! }).on('line', (line) => {
      if (line.includes('heartbeating')) seeded();
    });
  });
  return () => seed.kill('SIGTERM');
}
