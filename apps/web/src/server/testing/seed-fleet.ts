import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const WEB_DIR = resolve(import.meta.dirname, '../../..');

/**
 * Fills a test's database with scripts/seed-fleet.ts (hosts with drift against group policies, some
 * offline, self-test results, jobs): the server's data dir, so that sealed credentials open.
 */
export function seedFleet(
  hosts: number,
  env: { DATABASE_URL: string; BINFLEET_DATA_DIR: string },
): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/seed-fleet.ts', '--hosts', String(hosts)],
      { cwd: WEB_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', fail);
    child.once('exit', (code) =>
      code === 0 ? done() : fail(new Error(`seed-fleet.ts exited with ${code}:\n${stderr}`)),
    );
  });
}
