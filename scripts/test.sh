#!/usr/bin/env bash
# The project's one test command (.ci/run calls it): installs and starts what the tests need, installs
# node modules, then runs the unit, integration and (once it exists) browser suites. Every suite runs
# even after another failed; the last line sums up, and the exit status is non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The machine is offline apart from the npm registry and Debian's mirrors: no telemetry, and node-gyp
# must build native modules against the installed Node headers instead of downloading them.
export NEXT_TELEMETRY_DISABLED=1 TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 npm_config_nodedir=/usr

results=()
failed=false

summary_and_exit() {
  local joined
  printf -v joined '%s, ' "${results[@]}"
  if $failed; then
    echo "test.sh: ${joined%, } => FAILED"
    exit 1
  fi
  echo "test.sh: ${joined%, } => OK"
}

setup_failed() {
  results+=("setup FAILED ($1)")
  failed=true
  summary_and_exit
}

run_suite() {
  local name=$1
  shift
  echo "==> $name: $*"
  if "$@"; then
    results+=("$name passed")
  else
    results+=("$name FAILED")
    failed=true
  fi
}

echo "==> dependencies: bash scripts/test-deps.sh"
bash scripts/test-deps.sh || setup_failed "scripts/test-deps.sh"
# shellcheck source=/dev/null
source "${BINFLEET_FIXTURES:-/var/cache/binfleet/fixtures}/env.sh"

if [[ -f pnpm-lock.yaml ]]; then install=(pnpm install --frozen-lockfile); else install=(pnpm install); fi
# Native builds (better-sqlite3) print thousands of lines: keep them in a log, show its end on failure.
install_log=/var/log/binfleet/pnpm-install.log
echo "==> node modules: ${install[*]} (log: $install_log)"
if ! "${install[@]}" >"$install_log" 2>&1; then
  tail -n 40 "$install_log"
  setup_failed "${install[*]}"
fi

# Types (every package, benches and scripts) and lint: what no test runs would still break users.
run_suite checks bash -c 'pnpm typecheck && pnpm exec tsc -p . --noEmit && pnpm lint'
run_suite unit pnpm exec vitest run --project unit
run_suite integration pnpm exec vitest run --project 'integration*'
if [[ -f e2e/playwright.config.ts ]]; then
  run_suite e2e pnpm --filter @binfleet/e2e test
else
  results+=("e2e skipped (no e2e/playwright.config.ts)")
fi

summary_and_exit
