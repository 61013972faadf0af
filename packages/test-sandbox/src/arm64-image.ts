import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtures } from './fixtures.ts';

/**
 * A tiny linux/arm64 image (the arm64 busybox fixture) in the local dockerd. dockerd 20.10's
 * `docker import --platform` records no architecture (the image then claims the daemon's own, and
 * creating it for linux/arm64 is a 404); a FROM scratch build with --platform does.
 */
export function buildArm64Image(name: string): void {
  const context = mkdtempSync(join(tmpdir(), 'arm64-image-'));
  try {
    copyFileSync(fixtures().rootfsTar('arm64'), join(context, 'rootfs.tar'));
    writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nADD rootfs.tar /\n');
    execFileSync('docker', ['build', '--quiet', '--platform', 'linux/arm64', '--tag', name, context], {
      // The classic builder: offline, and present in every docker CLI without the buildx plugin.
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
      stdio: 'pipe',
    });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}
