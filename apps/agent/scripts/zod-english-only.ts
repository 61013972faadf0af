import { dirname } from 'node:path';
import type { Plugin } from 'esbuild';

/**
 * zod's error messages in 50 languages are half of what every command would parse at start (~360 KB);
 * the agent speaks English (zod's default, `en`), so the others stay out of every bundle of zod we make
 * (scripts/build.ts, and bench/agent-register.ts's floor of the agent's libraries).
 */
export const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: dirname(args.path),
    }));
  },
};
