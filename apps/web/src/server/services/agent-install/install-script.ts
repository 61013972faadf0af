import type { AgentReleaseManifest } from '@binfleet/agent-contract';
import { publicUrlProblem } from '../../security/public-url.ts';

export interface InstallScriptValues {
  /** Where hosts reach this control plane (checked by publicUrlProblem). */
  readonly publicUrl: string;
  readonly manifest: AgentReleaseManifest;
}

/**
 * `GET /agent/install.sh`: the installer, with this control plane's URL, the agent version it
 * serves and every artifact's sha256 written in (so the script pins exactly what it checks). Every
 * value is checked against a strict shape before it goes in, and goes in single-quoted.
 */
export function renderInstallScript({ publicUrl, manifest }: InstallScriptValues): string {
  const problem = publicUrlProblem(publicUrl);
  if (problem) throw new Error(`public URL ${problem}`);
  const deb = manifest.artifacts.find((a) => a.kind === 'deb');
  const tar = manifest.artifacts.find((a) => a.kind === 'tarball');
  const values: Record<string, string> = {
    PUBLIC_URL: publicUrl,
    VERSION: manifest.version,
    DEB_FILE: deb?.file ?? '',
    DEB_SHA256: deb?.sha256 ?? '',
    TAR_FILE: tar?.file ?? '',
    TAR_SHA256: tar?.sha256 ?? '',
  };
  for (const [key, value] of Object.entries(values))
    if (!/^[A-Za-z0-9._:/+~[\]%-]*$/.test(value)) throw new Error(`${key} has characters a shell would read`);
  return TEMPLATE.replaceAll('$\\{', '$' + '{').replace(/@@([A-Z0-9_]+)@@/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`install.sh: no value for @@${key}@@`);
    return value;
  });
}

// POSIX sh (dash, busybox ash). Everything runs in main(), called on the last line: a download cut
// short defines functions at most and runs nothing. String.raw keeps the backslashes as the shell
// needs them; the shell's dollar-brace is written $\{ here (a template literal would read it) and
// restored when rendering.
const TEMPLATE = String.raw`#!/bin/sh
# binfleet agent installer, served by the control plane at @@PUBLIC_URL@@/agent/install.sh
#
#   curl -fsSL @@PUBLIC_URL@@/agent/install.sh | sudo sh -s -- --code CODE
#
# Installs binfleet-agent @@VERSION@@ (its sha256 is written below and checked), trades the one-time
# CODE from the dashboard for this host's own join credential (a 0600 file, never on a command
# line), and starts the agent, which joins the fleet. --help for options. Re-running it changes
# nothing when the agent is installed, joined and running; an uninstaller is installed beside it.

BINFLEET_URL='@@PUBLIC_URL@@'
AGENT_VERSION='@@VERSION@@'
DEB_FILE='@@DEB_FILE@@'
DEB_SHA256='@@DEB_SHA256@@'
TAR_FILE='@@TAR_FILE@@'
TAR_SHA256='@@TAR_SHA256@@'

say() { printf 'binfleet: %s\n' "$*" >&2; }
fail() {
  say "$*"
  exit 1
}

usage() {
  cat <<'USAGE'
Usage: curl -fsSL URL/agent/install.sh | sudo sh -s -- --code CODE [options]

  --code CODE            the one-time code from the dashboard (Fleet > Add host); it works once,
                         within 15 minutes
  --dry-run              check everything (root, system, server, code, downloads) and say what would
                         be done; change nothing, keep the code unused
  --method deb|tarball   deb: the Debian package (default where dpkg and apt-get exist);
                         tarball: the relocatable bundle (needs Node.js >= 18)
  --prefix DIR           install the tarball under DIR, its configuration in DIR/etc and its state in
                         DIR/var (default /opt/binfleet-agent, /etc/binfleet-agent, /var/lib/binfleet-agent)
  --listen HOST:PORT     passed to the agent (default: the address routing to the control plane, :7475)
  --advertise-url URL    passed to the agent: the URL the control plane calls it at
  --dial-out             the agent listens on nothing and dials out to the control plane (for hosts
                         behind NAT or a firewall); not with --listen or --advertise-url
  --no-start             install and configure, but do not start the agent
  -h, --help             this text
USAGE
}

# curl with what every request here needs. The first argument is a path on the control plane,
# the second the file the answer goes to. Fails with the server's own one-line reason, or with
# curl's when the server cannot be reached.
request() {
  _path=$1
  _out=$2
  shift 2
  # shellcheck disable=SC2086 # $CURL_TLS is options, split on purpose
  _status=$(curl -sS --proto '=http,https' --connect-timeout 10 --max-time 600 $CURL_TLS \
    -o "$_out" -w '%{http_code}' "$@" "$BINFLEET_URL$_path" 2>"$WORK/curl.err") ||
    fail "cannot reach $BINFLEET_URL ($(tail -n 1 "$WORK/curl.err")); nothing was changed. Check the address and this host's network or proxy settings."
  case $_status in
  2??) return 0 ;;
  esac
  fail "$(head -c 400 "$_out" | head -n 1) ($BINFLEET_URL$_path answered $_status; nothing was changed)"
}

agent_running() {
  if [ -n "$SYSTEMD" ]; then
    systemctl is-active --quiet binfleet-agent
  else
    [ -f "$STATE/agent.pid" ] && kill -0 "$(cat "$STATE/agent.pid")" 2>/dev/null
  fi
}

stop_agent() {
  if [ -n "$SYSTEMD" ]; then
    systemctl stop binfleet-agent 2>/dev/null || true
  elif [ -f "$STATE/agent.pid" ]; then
    _pid=$(cat "$STATE/agent.pid")
    kill "$_pid" 2>/dev/null || true
    _i=0
    while kill -0 "$_pid" 2>/dev/null && [ $_i -lt 100 ]; do
      sleep 0.2
      _i=$((_i + 1))
    done
    rm -f "$STATE/agent.pid"
  fi
}

start_agent() {
  if [ -n "$SYSTEMD" ]; then
    systemctl daemon-reload
    systemctl enable binfleet-agent >/dev/null 2>&1
    systemctl restart binfleet-agent
  else
    stop_agent
    # No systemd (a container, a minimal system): the agent runs detached, logging to a file.
    (
      set -a
      . "$CONF/agent.env"
      set +a
      # Not a systemd service, even when this script runs from one: an upgraded agent restarts itself.
      unset INVOCATION_ID SYSTEMD_EXEC_PID
      # shellcheck disable=SC2086 # the agent's options, split on purpose
      exec setsid "$BIN" serve --state-dir "$STATE" $BINFLEET_AGENT_ARGS </dev/null >>"$STATE/agent.log" 2>&1
    ) &
    echo $! >"$STATE/agent.pid"
    say "no systemd here: the agent runs in the background (pid $!, log $STATE/agent.log); after a reboot, run this line again or start $BIN serve --state-dir $STATE with $CONF/agent.env"
  fi
}

write_uninstaller() {
  {
    echo '#!/bin/sh'
    echo "# Removes the binfleet agent that $BINFLEET_URL/agent/install.sh installed ($METHOD)."
    echo 'set -u'
    echo '[ "$(id -u)" = 0 ] || { echo "binfleet: run as root" >&2; exit 1; }'
    if [ -n "$SYSTEMD" ]; then
      echo 'systemctl disable --now binfleet-agent 2>/dev/null || true'
    else
      echo "[ -f '$STATE/agent.pid' ] && kill \"\$(cat '$STATE/agent.pid')\" 2>/dev/null"
    fi
    if [ "$METHOD" = deb ]; then
      echo 'DEBIAN_FRONTEND=noninteractive apt-get purge -y binfleet-agent'
    else
      [ -n "$SYSTEMD" ] && echo "rm -f /etc/systemd/system/binfleet-agent.service && systemctl daemon-reload"
      echo "rm -rf '$ROOT/bin' '$ROOT/current' '$ROOT/versions' '$ROOT/lib' '$ROOT/share' '$ROOT/.binfleet-version' '$CONF' '$STATE'"
    fi
    echo "rm -f '$UNINSTALLER'"
    echo 'echo "binfleet: the agent is removed; remove the host in the dashboard too (Fleet > host > Remove host)." >&2'
  } >"$WORK/uninstall"
  install -m 0700 "$WORK/uninstall" "$UNINSTALLER"
}

main() {
  CODE=
  DRY_RUN=
  PREFIX=
  METHOD=
  LISTEN=
  ADVERTISE=
  DIAL_OUT=
  NO_START=
  while [ $# -gt 0 ]; do
    case $1 in
    --code | --prefix | --method | --listen | --advertise-url)
      [ $# -ge 2 ] || fail "$1 needs a value (see --help)"
      case $1 in
      --code) CODE=$2 ;;
      --prefix) PREFIX=$2 ;;
      --method) METHOD=$2 ;;
      --listen) LISTEN=$2 ;;
      --advertise-url) ADVERTISE=$2 ;;
      esac
      shift 2
      ;;
    --dry-run) DRY_RUN=1 && shift ;;
    --dial-out) DIAL_OUT=1 && shift ;;
    --no-start) NO_START=1 && shift ;;
    -h | --help) usage && exit 0 ;;
    *) fail "unknown option $1 (see --help)" ;;
    esac
  done

  if [ -n "$DIAL_OUT" ] && { [ -n "$LISTEN" ] || [ -n "$ADVERTISE" ]; }; then
    fail "--dial-out listens on nothing: drop --listen and --advertise-url"
  fi
  [ -n "$CODE" ] || fail "give --code CODE: copy the whole line from the dashboard (Fleet > Add host)."
  case $CODE in
  *[!A-Za-z0-9_.-]*) fail "--code has characters a code never has: copy the line from the dashboard again." ;;
  esac
  TOKEN=$\{CODE%%.*}
  PIN=
  case $CODE in *.*) PIN=$\{CODE#*.} ;; esac
  for _value in "$PREFIX" "$LISTEN" "$ADVERTISE"; do
    case $_value in
    *[!A-Za-z0-9_.:/@%+~\[\]-]*) fail "options take plain paths, addresses and URLs: \"$_value\" has other characters." ;;
    esac
  done
  if [ "$(id -u)" != 0 ] && [ -z "$DRY_RUN" ]; then
    fail "run as root: curl -fsSL $BINFLEET_URL/agent/install.sh | sudo sh -s -- --code ... (or add --dry-run to only check)"
  fi
  [ "$(uname -s)" = Linux ] || fail "binfleet-agent runs on Linux; this is $(uname -s)."
  for _tool in curl sha256sum tar gzip; do
    command -v "$_tool" >/dev/null 2>&1 || fail "this script needs $_tool: install it and run the line again."
  done

  CURL_TLS=
  if [ -n "$PIN" ]; then
    # The control plane's own certificate: trusted by its public key, which the code carries.
    CURL_TLS="-k --pinnedpubkey sha256//$(printf '%s' "$PIN" | tr '_-' '/+')="
  fi

  if [ -z "$METHOD" ]; then
    if [ -z "$PREFIX" ] && [ -n "$DEB_FILE" ] && command -v dpkg >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
      METHOD=deb
    else
      METHOD=tarball
    fi
  fi
  case $METHOD in
  deb) [ -z "$PREFIX" ] || fail "--prefix goes with --method tarball." ;;
  tarball) ;;
  *) fail "--method is deb or tarball." ;;
  esac
  NODE_VERSION=$(node -v 2>/dev/null | tr -d v)
  if [ "$METHOD" = tarball ]; then
    [ -n "$NODE_VERSION" ] || fail "the tarball needs Node.js >= 18 (none found): install nodejs, or use --method deb."
    [ "$\{NODE_VERSION%%.*}" -ge 18 ] 2>/dev/null || fail "the tarball needs Node.js >= 18; this host has $NODE_VERSION."
  fi

  if [ "$METHOD" = deb ]; then
    BIN=/usr/bin/binfleet-agent
    ROOT=/usr/lib/binfleet-agent
    CONF=/etc/binfleet-agent
    STATE=/var/lib/binfleet-agent
    UNINSTALLER=/usr/sbin/binfleet-agent-uninstall
  else
    ROOT=$\{PREFIX:-/opt/binfleet-agent}
    case $ROOT in /*) ;; *) fail "--prefix needs an absolute path." ;; esac
    BIN=$ROOT/bin/binfleet-agent
    if [ -n "$PREFIX" ]; then
      CONF=$ROOT/etc
      STATE=$ROOT/var
    else
      CONF=/etc/binfleet-agent
      STATE=/var/lib/binfleet-agent
    fi
    UNINSTALLER=$ROOT/bin/binfleet-agent-uninstall
  fi
  SYSTEMD=
  if [ -z "$PREFIX" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then SYSTEMD=1; fi

  umask 077
  WORK=$(mktemp -d) || fail "cannot create a temporary directory."
  trap 'rm -rf "$WORK"' EXIT
  trap 'exit 130' INT TERM

  # The server first: does it install this kind of host, and does it serve what this script pins?
  request "/agent/supported?os=linux&arch=$(uname -m)&method=$METHOD&node=$NODE_VERSION&version=$AGENT_VERSION" "$WORK/supported"

  if [ -x "$BIN" ] && [ "$("$BIN" version 2>/dev/null | cut -d' ' -f2)" = "$AGENT_VERSION" ] &&
    grep -qF "\"$BINFLEET_URL\"" "$STATE/fleet-link.json" 2>/dev/null && agent_running; then
    say "binfleet-agent $AGENT_VERSION is installed, joined to $BINFLEET_URL and running: nothing to do (the code was not used)."
    exit 0
  fi

  if [ "$METHOD" = deb ]; then
    FILE=$DEB_FILE
    SHA=$DEB_SHA256
  else
    FILE=$TAR_FILE
    SHA=$TAR_SHA256
  fi
  [ -n "$FILE" ] || fail "this control plane serves no $METHOD of the agent: run pnpm agent:package there, or use the other --method."
  request "/agent/files/$FILE" "$WORK/$FILE"
  echo "$SHA  $WORK/$FILE" | sha256sum -c --status ||
    fail "$FILE does not match its sha256 $SHA: the download was damaged or altered; nothing was changed."

  if [ -n "$DRY_RUN" ]; then
    printf '{"code":"%s"}' "$TOKEN" >"$WORK/code.json"
    request "/agent/exchange?check=1" "$WORK/check" -X POST -H 'content-type: application/json' \
      --data-binary @"$WORK/code.json"
    say "dry run: the code is valid, $FILE matches its sha256. Would install binfleet-agent $AGENT_VERSION ($METHOD) as $BIN, write $CONF/agent.env and $CONF/join-token (0600), keep state in $STATE, install $UNINSTALLER, and $([ -n "$NO_START" ] && echo 'not start it' || { [ -n "$SYSTEMD" ] && echo 'enable and start binfleet-agent.service' || echo 'start it in the background'; })."
    exit 0
  fi

  # The code, for this host's own credential. From a 0600 file (printf is the shell's own): it never
  # reaches a command line. Not through a pipe: request() would run in a subshell, and its failure
  # would not stop this script.
  printf '{"code":"%s","hostname":"%s"}' "$TOKEN" "$(hostname | tr -cd 'A-Za-z0-9.-')" >"$WORK/code.json"
  request /agent/exchange "$WORK/credential" -X POST -H 'content-type: application/json' \
    --data-binary @"$WORK/code.json"
  if [ -n "$PIN" ]; then request /agent/ca.pem "$WORK/server-ca.pem"; fi

  if [ "$METHOD" = deb ]; then
    if [ "$(dpkg-query -W -f='$\{Version}' binfleet-agent 2>/dev/null)" != "$AGENT_VERSION" ]; then
      say "installing $FILE"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$WORK/$FILE" >"$WORK/apt.log" 2>&1 ||
        fail "apt-get could not install $FILE: $(tail -n 3 "$WORK/apt.log" | tr '\n' ' ')"
    fi
  elif [ "$(readlink "$ROOT/current" 2>/dev/null)" != "versions/$AGENT_VERSION" ]; then
    # Each version in a folder of its own, "current" pointing at the one that runs, the launcher in
    # bin/ going through it: the agent upgrades itself the same way (the upgrade agent job).
    say "unpacking $FILE into $ROOT/versions/$AGENT_VERSION"
    mkdir -p "$ROOT/versions" "$ROOT/bin" && chmod 0755 "$ROOT" "$ROOT/versions" "$ROOT/bin"
    rm -rf "$ROOT/versions/.install" && mkdir "$ROOT/versions/.install"
    tar -xzf "$WORK/$FILE" -C "$ROOT/versions/.install" --strip-components=1 --no-same-owner ||
      fail "cannot unpack $FILE into $ROOT/versions."
    rm -rf "$ROOT/versions/$AGENT_VERSION" && mv "$ROOT/versions/.install" "$ROOT/versions/$AGENT_VERSION"
    ln -sfn "versions/$AGENT_VERSION" "$ROOT/current"
    ln -sfn ../current/bin/binfleet-agent "$ROOT/bin/binfleet-agent"
    # What an install of before versions/ left.
    rm -rf "$\{ROOT:?}/lib" "$\{ROOT:?}/share" "$\{ROOT:?}/.binfleet-version"
  fi

  mkdir -p "$CONF" "$STATE"
  chmod 0700 "$CONF" "$STATE"
  ARGS="--server $BINFLEET_URL --join-token-file $CONF/join-token"
  [ -n "$LISTEN" ] && ARGS="$ARGS --listen $LISTEN"
  [ -n "$ADVERTISE" ] && ARGS="$ARGS --advertise-url $ADVERTISE"
  [ -n "$DIAL_OUT" ] && ARGS="$ARGS --dial-out"
  {
    echo "# Written by $BINFLEET_URL/agent/install.sh: run it again to change. Keep this file 0600."
    echo "BINFLEET_AGENT_ARGS=\"$ARGS\""
    for _name in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
      eval "_value=\$\{$_name-}"
      [ -n "$_value" ] || continue
      case $_value in *[\"\\\$\`]*) fail "$_name has quotes or \$ in it: set it plainly and run the line again." ;; esac
      echo "$_name=\"$_value\""
    done
    [ -n "$PIN" ] && echo "NODE_EXTRA_CA_CERTS=\"$CONF/server-ca.pem\""
  } >"$WORK/agent.env"
  cmp -s "$WORK/agent.env" "$CONF/agent.env" || install -m 0600 "$WORK/agent.env" "$CONF/agent.env"
  [ -n "$PIN" ] && install -m 0644 "$WORK/server-ca.pem" "$CONF/server-ca.pem"
  install -m 0600 "$WORK/credential" "$CONF/join-token"

  if [ "$METHOD" = tarball ] && [ -n "$SYSTEMD" ]; then
    sed "s#/opt/binfleet-agent#$ROOT#g" "$ROOT/current/share/binfleet-agent/binfleet-agent.service" >"$WORK/unit"
    install -m 0644 "$WORK/unit" /etc/systemd/system/binfleet-agent.service
  fi
  write_uninstaller

  if [ -n "$NO_START" ]; then
    say "installed binfleet-agent $AGENT_VERSION; not started (--no-start). It joins on its first start."
    exit 0
  fi
  start_agent
  _i=0
  while [ $_i -lt 120 ]; do
    if [ ! -e "$CONF/join-token" ] && grep -qF "\"$BINFLEET_URL\"" "$STATE/fleet-link.json" 2>/dev/null; then
      say "binfleet-agent $AGENT_VERSION is installed ($METHOD) and joined $BINFLEET_URL. Uninstall: $UNINSTALLER"
      exit 0
    fi
    agent_running || break
    sleep 0.5
    _i=$((_i + 1))
  done
  if [ -n "$SYSTEMD" ]; then _logs="journalctl -u binfleet-agent"; else _logs="$STATE/agent.log"; fi
  fail "the agent did not join $BINFLEET_URL: see $_logs$([ -z "$SYSTEMD" ] && [ -f "$STATE/agent.log" ] && printf ': %s' "$(tail -n 3 "$STATE/agent.log" | tr '\n' ' ')")"
}

main "$@"
`;
