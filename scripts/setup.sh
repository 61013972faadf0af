#!/usr/bin/env bash
# Sets up and starts binfleet on this machine: the dashboard and control plane on SQLite
# (http://127.0.0.1:3000) and a local agent joined to it. Run as root on Debian 12 with Node 20 + npm.
#   bash scripts/setup.sh          install what is missing, build, start (idempotent)
#   bash scripts/setup.sh --stop   stop what it started
# Configuration through the environment: PORT (3000), LISTEN_HOST (127.0.0.1; 0.0.0.0 or an address
# of this machine for hosts on other machines, with BINFLEET_PUBLIC_URL=http://ADDRESS:3000),
# AGENT_PORT (7475), BINFLEET_DATA_DIR (./data),
# BINFLEET_ADMIN_USERNAME / BINFLEET_ADMIN_PASSWORD (else the first visitor sets up the first admin).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD

export NEXT_TELEMETRY_DISABLED=1 TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 npm_config_nodedir=/usr
PORT=${PORT:-3000}
LISTEN_HOST=${LISTEN_HOST:-127.0.0.1}
# Where this machine itself reaches the dashboard (the local agent, the start check).
case $LISTEN_HOST in 0.0.0.0 | '::') LOCAL_URL=http://127.0.0.1:$PORT ;; *:*) LOCAL_URL=http://[$LISTEN_HOST]:$PORT ;; *) LOCAL_URL=http://$LISTEN_HOST:$PORT ;; esac
AGENT_PORT=${AGENT_PORT:-7475}
export BINFLEET_DATA_DIR=${BINFLEET_DATA_DIR:-$REPO/data}
export DATABASE_URL=${DATABASE_URL:-file:$BINFLEET_DATA_DIR/binfleet.db}
RUN_DIR=$BINFLEET_DATA_DIR/run
LOG_DIR=$BINFLEET_DATA_DIR/logs
PNPM_VERSION=12.21.0

log() { printf '[setup] %s\n' "$*"; }
die() {
  printf '[setup] ERROR: %s\n' "$*" >&2
  exit 1
}

# A process and everything below it, parents first.
process_tree() {
  local child
  echo "$1"
  for child in $(pgrep -P "$1"); do process_tree "$child"; done
}

stop_one() {
  local name=$1 pidfile="$RUN_DIR/$1.pid"
  [[ -f $pidfile ]] || return 0
  local pid pids
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    # By process tree, not group or session: a child (tsx's node, or anything it starts in a
    # session of its own) would outlive a signal to its parent's group.
    pids=$(process_tree "$pid")
    # shellcheck disable=SC2086 # one pid per word
    kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 50); do
      # shellcheck disable=SC2086
      kill -0 $pids 2>/dev/null || break
      sleep 0.2
    done
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

if [[ ${1:-} == --stop ]]; then
  stop_one agent
  stop_one web
  exit 0
fi
[[ $(id -u) == 0 ]] || die "run as root: the local agent manages the kernel's binfmt_misc."

# Tools and the emulators the local agent registers.
command -v pnpm >/dev/null || { log "npm install -g pnpm@$PNPM_VERSION"; npm install -g "pnpm@$PNPM_VERSION" >/dev/null; }
missing=()
for pkg in qemu-user-static python3 make g++ procps; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  apt-get update >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi

# The data folder (database, server key, logs, agent state) is private: files 0600, folders 0700, for
# what this script, the dashboard and the agent create; the checkout's own files (install, build) keep 022.
umask 077
mkdir -p "$RUN_DIR" "$LOG_DIR"
chmod 700 "$BINFLEET_DATA_DIR" "$RUN_DIR" "$LOG_DIR"
# Files an older setup left readable to others.
find "$BINFLEET_DATA_DIR" -maxdepth 2 \( -type f -o -type d \) \( -perm -g+r -o -perm -o+r \) -exec chmod go-rwx {} +
log "pnpm install (log: $LOG_DIR/install.log)"
(umask 022 && pnpm install --frozen-lockfile) >"$LOG_DIR/install.log" 2>&1 || { tail -n 30 "$LOG_DIR/install.log"; die "pnpm install failed"; }
log "building the dashboard (log: $LOG_DIR/build.log)"
(umask 022 && cd apps/web && ./node_modules/.bin/next build) >"$LOG_DIR/build.log" 2>&1 || { tail -n 30 "$LOG_DIR/build.log"; die "next build failed"; }
# The agent release the dashboard serves to other hosts (Fleet > Add host: the one-line install).
log "packaging the agent for other hosts: dist/agent (log: $LOG_DIR/agent-package.log)"
pnpm agent:package >"$LOG_DIR/agent-package.log" 2>&1 || { tail -n 30 "$LOG_DIR/agent-package.log"; die "pnpm agent:package failed"; }

# Restart cleanly if it was running.
stop_one agent
stop_one web

log "starting the dashboard on http://$LISTEN_HOST:$PORT (log: $LOG_DIR/web.log)"
(cd apps/web && BINFLEET_INSECURE_COOKIES=${BINFLEET_INSECURE_COOKIES:-1} setsid nohup ./node_modules/.bin/tsx scripts/serve.ts -H "$LISTEN_HOST" -p "$PORT" \
  >"$LOG_DIR/web.log" 2>&1 </dev/null & echo $! >"$RUN_DIR/web.pid")
for _ in $(seq 150); do
  node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
    "$LOCAL_URL/api/trpc/auth.me" 2>/dev/null && break
  sleep 0.2
done || true
node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
  "$LOCAL_URL/api/trpc/auth.me" || { tail -n 30 "$LOG_DIR/web.log"; die "the dashboard did not start"; }

agent_args=(serve --listen "127.0.0.1:$AGENT_PORT" --state-dir "$BINFLEET_DATA_DIR/agent" --server "$LOCAL_URL")
if [[ ! -f $BINFLEET_DATA_DIR/agent/fleet-link.json ]] || ! grep -q '"hostId"' "$BINFLEET_DATA_DIR/agent/fleet-link.json"; then
  # In a 0600 file, not on the agent's command line; the agent deletes it once it has joined.
  (umask 077 && cd apps/web && ./node_modules/.bin/tsx scripts/local-join-token.ts >"$BINFLEET_DATA_DIR/agent-join-token")
  agent_args+=(--join-token-file "$BINFLEET_DATA_DIR/agent-join-token")
fi
log "starting the local agent on http://127.0.0.1:$AGENT_PORT (log: $LOG_DIR/agent.log)"
# As the packages run it: the launcher over the bundle just built (pnpm agent:package), which starts
# `serve` from the agent's own V8 startup snapshot (made on the first start, kept in the data folder).
BINFLEET_AGENT_SNAPSHOT_DIR="$BINFLEET_DATA_DIR/agent-snapshots" setsid nohup apps/agent/dist/launcher/bin/binfleet-agent \
  "${agent_args[@]}" >"$LOG_DIR/agent.log" 2>&1 </dev/null &
echo $! >"$RUN_DIR/agent.pid"
for _ in $(seq 100); do grep -q '"event":"joined"\|heartbeat' "$LOG_DIR/agent.log" 2>/dev/null && break; sleep 0.2; done
kill -0 "$(cat "$RUN_DIR/agent.pid")" 2>/dev/null || { tail -n 30 "$LOG_DIR/agent.log"; die "the local agent did not start"; }

cat <<MSG
[setup] binfleet is running.
  Dashboard:   $LOCAL_URL   (first visit: create the first admin, unless BINFLEET_ADMIN_* was set)
  Local agent: http://127.0.0.1:$AGENT_PORT, joined to the dashboard; it changes the kernel only when a job asks.
  Other hosts: Fleet > Add host gives the one line that installs the agent there (docs/agent.md);
               they must reach the dashboard: LISTEN_HOST and BINFLEET_PUBLIC_URL (README, configuration).
  Data:        $BINFLEET_DATA_DIR (SQLite database, server key, agent state, logs)
  Stop:        bash scripts/setup.sh --stop
MSG
