/**
 * Debian's Chromium (apt-get install chromium), as the e2e tests and the screenshot script launch it:
 * Playwright's own browser downloads are unreachable here. CHROMIUM (scripts/test-deps.sh's env.sh)
 * names another binary.
 */
export function chromiumExecutable(): string {
  return process.env.CHROMIUM || '/usr/bin/chromium';
}

/** Headless, no sandbox (runs as root in CI), and nothing that reaches for the network on its own. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
