import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { OUTPUT_DIR } from './paths.ts';

const SYSTEM_FFMPEG = '/usr/bin/ffmpeg';

/**
 * Playwright records video with its own ffmpeg build, a download that is unreachable here. Debian's
 * ffmpeg (scripts/test-deps.sh installs it) encodes the same VP8 WebM: it is linked where Playwright
 * looks, in a browsers folder of our own (PLAYWRIGHT_BROWSERS_PATH; the browser itself is Debian's
 * Chromium, given by path). Returns whether video can be recorded.
 */
export function linkSystemFfmpegForVideo(): boolean {
  if (!existsSync(SYSTEM_FFMPEG)) return false;
  // The ffmpeg revision this Playwright expects, from playwright-core (a dependency of a dependency).
  const test = createRequire(createRequire(import.meta.url).resolve('@playwright/test'));
  const core = createRequire(test.resolve('playwright')).resolve('playwright-core');
  const browsers = JSON.parse(readFileSync(join(dirname(core), 'browsers.json'), 'utf8')) as {
    browsers: { name: string; revision: string }[];
  };
  const revision = browsers.browsers.find((b) => b.name === 'ffmpeg')?.revision;
  if (!revision) return false;
  const registry = join(OUTPUT_DIR, '.playwright');
  const link = join(registry, `ffmpeg-${revision}`, 'ffmpeg-linux');
  if (!existsSync(link)) {
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(SYSTEM_FFMPEG, link);
  }
  process.env.PLAYWRIGHT_BROWSERS_PATH = registry;
  return true;
}
