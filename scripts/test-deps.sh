#!/usr/bin/env bash
# Installs and starts everything the test suites need, on Debian 12 with only Node 20 + npm.
# Idempotent: every step checks first, so a second run takes a second or two and never calls apt-get.
# Writes the facts tests need to $FIXTURES/env.sh (scripts/test.sh sources it).
set -euo pipefail

FIXTURES="${BINFLEET_FIXTURES:-/var/cache/binfleet/fixtures}"
DEBS_DIR="$FIXTURES/debs"
BUSYBOX_DIR="$FIXTURES/busybox"
# Foreign hosts' qemu-user-static packages, for the multi-architecture image build test; a folder of
# their own, so that debs/ keeps exactly one qemu-user-static (the native one).
QEMU_DEBS_DIR="$FIXTURES/qemu-debs"
QEMU_HOST_ARCHES=(arm64 armhf)
ROOTFS_DIR="$FIXTURES/rootfs"
LOG_DIR=/var/log/binfleet

PNPM_VERSION=12.21.0
# binfmt-support is deliberately absent: it registers entries in the machine's real binfmt_misc.
# systemd only for /usr/lib/systemd/systemd-binfmt, a benchmark reference. g++, make and python3 let
# node-gyp compile better-sqlite3 (its prebuilt binary is a download from GitHub). ffmpeg: Playwright
# records videos of failed browser tests with it when E2E_RECORD=1 (its own build is a download too; see
# e2e/support/video.ts).
# faketime (libfaketime): the clock-skew fault test runs agents with their wall clock hours off.
# lintian checks the agent's .deb; systemd also gives systemd-analyze, which verifies its unit (the
# Debian packages of the agent image are downloaded by `pnpm agent:package --image` itself).
APT_PACKAGES=(qemu-user-static docker.io docker-registry chromium postgresql systemd iproute2 util-linux
  g++ make python3 ffmpeg faketime lintian)
# Debian architectures we keep a static busybox (and a tiny rootfs) for; the native one is included.
BUSYBOX_ARCHES=(amd64 arm64 armhf armel i386 ppc64el s390x riscv64 mips64el)
# Debian 12 has no riscv64 port: that busybox comes from Debian 13, through a private apt state.
NEXT_RELEASE=trixie
NEXT_RELEASE_ARCHES=" riscv64 "
NEXT_RELEASE_APT="$FIXTURES/apt-$NEXT_RELEASE"

REGISTRY_ADDR=127.0.0.1:5000
REGISTRY_ROOT=/var/lib/binfleet-registry
REGISTRY_CONFIG=/etc/binfleet/registry.yml
PG_VERSION=15 # the only PostgreSQL Debian 12 ships
PG_URL=postgresql://postgres:postgres@127.0.0.1:5432/postgres

log() { printf '[test-deps] %s\n' "$*"; }
die() {
  printf '[test-deps] ERROR: %s\n' "$*" >&2
  exit 1
}

# Runs a noisy command with its output in a log file; shows the end of the log only if it fails.
quietly() {
  local logfile="$LOG_DIR/$1.log"
  shift
  if ! "$@" >"$logfile" 2>&1; then
    tail -n 30 "$logfile" >&2
    die "'$*' failed (full log: $logfile)"
  fi
}

# Waits up to $1 seconds for the command in the remaining arguments to succeed.
wait_for() {
  local seconds=$1
  shift
  local i
  for ((i = 0; i < seconds * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

http_ok() { node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$1"; }

is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

APT_UPDATED=false
apt_update_once() {
  $APT_UPDATED && return 0
  log "apt-get update"
  # A mirror caught mid-sync fails some index files (seen: bookworm-security for i386/armhf/ppc64el)
  # although everything we need comes from the others; the install/download that follows fails
  # clearly if a package really is unavailable.
  if ! apt-get update >"$LOG_DIR/apt-update.log" 2>&1; then
    log "warning: apt-get update reported errors, continuing (log: $LOG_DIR/apt-update.log):"
    grep '^E:' "$LOG_DIR/apt-update.log" | head -n 5 | sed 's/^/[test-deps]   /'
  fi
  APT_UPDATED=true
}

# As root, apt drops privileges to _apt for downloads and warns when it cannot write the target dir.
apt_download() { apt-get -o APT::Sandbox::User=root download "$@"; }

# Downloads into the current directory from the next Debian release, with its own sources, lists and
# cache, so the machine's apt configuration and package lists stay untouched.
apt_download_next_release() {
  local arch=$1 package=$2
  local opts=(-o "Dir::Etc::SourceList=$NEXT_RELEASE_APT/sources.list" -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State::Lists=$NEXT_RELEASE_APT/lists" -o "Dir::Cache=$NEXT_RELEASE_APT/cache")
  mkdir -p "$NEXT_RELEASE_APT/lists/partial" "$NEXT_RELEASE_APT/cache/archives/partial"
  echo "deb [arch=$arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $NEXT_RELEASE main" \
    >"$NEXT_RELEASE_APT/sources.list"
  apt-get "${opts[@]}" update && apt_download "${opts[@]}" "$package:$arch"
}

ensure_pnpm() {
  command -v pnpm >/dev/null && return 0
  log "installing pnpm@$PNPM_VERSION with npm"
  quietly npm-pnpm npm install -g "pnpm@$PNPM_VERSION"
}

ensure_apt_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do is_installed "$pkg" || missing+=("$pkg"); done
  ((${#missing[@]})) || return 0
  apt_update_once
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive quietly apt-install apt-get install -y --no-install-recommends "${missing[@]}"
}

ensure_foreign_arches() {
  local native known
  native=$(dpkg --print-architecture)
  known=" $(dpkg --print-foreign-architectures | tr '\n' ' ') "
  for arch in "${BUSYBOX_ARCHES[@]}"; do
    [[ $arch == "$native" || $known == *" $arch "* ]] && continue
    log "dpkg --add-architecture $arch"
    dpkg --add-architecture "$arch"
  done
}

ensure_qemu_deb() {
  compgen -G "$DEBS_DIR/qemu-user-static_*.deb" >/dev/null && return 0
  apt_update_once
  log "apt-get download qemu-user-static -> $DEBS_DIR"
  (cd "$DEBS_DIR" && quietly download-qemu apt_download qemu-user-static)
}

ensure_foreign_qemu_deb() {
  local arch=$1
  compgen -G "$QEMU_DEBS_DIR/qemu-user-static_*_$arch.deb" >/dev/null && return 0
  apt_update_once
  log "apt-get download qemu-user-static:$arch -> $QEMU_DEBS_DIR"
  (cd "$QEMU_DEBS_DIR" && quietly "download-qemu-$arch" apt_download "qemu-user-static:$arch")
}

ensure_busybox() {
  local arch=$1 target="$BUSYBOX_DIR/$1/busybox"
  [[ -x $target ]] && return 0
  if ! compgen -G "$DEBS_DIR/busybox-static_*_$arch.deb" >/dev/null; then
    if [[ $NEXT_RELEASE_ARCHES == *" $arch "* ]]; then
      log "apt-get download busybox-static:$arch (from Debian $NEXT_RELEASE)"
      (cd "$DEBS_DIR" && quietly "download-busybox-$arch" apt_download_next_release "$arch" busybox-static)
    else
      apt_update_once
      log "apt-get download busybox-static:$arch"
      (cd "$DEBS_DIR" && quietly "download-busybox-$arch" apt_download "busybox-static:$arch")
    fi
  fi
  local unpacked
  unpacked=$(mktemp -d)
  dpkg-deb -x "$DEBS_DIR"/busybox-static_*_"$arch".deb "$unpacked"
  mkdir -p "$(dirname "$target")"
  # Debian 12 ships /bin/busybox, Debian 13 (usr-merged) /usr/bin/busybox.
  local binary
  binary=$(compgen -G "$unpacked/bin/busybox" || compgen -G "$unpacked/usr/bin/busybox") ||
    die "the busybox-static $arch package has neither bin/busybox nor usr/bin/busybox"
  # Copy then rename, so an interrupted run never leaves a file that looks complete.
  install -m 0755 "$binary" "$target.partial"
  mv "$target.partial" "$target"
  rm -rf "$unpacked"
  log "busybox for $arch -> $target"
}

# A minimal image root for `docker import --platform ...`: /bin/busybox and the applets tests use.
ensure_rootfs() {
  local arch=$1 target="$ROOTFS_DIR/$1.tar"
  [[ -f $target ]] && return 0
  local root
  root=$(mktemp -d)
  chmod 0755 "$root" # becomes the image's /
  mkdir -p "$root/bin" "$ROOTFS_DIR"
  install -m 0755 "$BUSYBOX_DIR/$arch/busybox" "$root/bin/busybox"
  for applet in sh uname echo cat; do ln -s busybox "$root/bin/$applet"; done
  tar --owner=0 --group=0 --numeric-owner -C "$root" -cf "$target.partial" .
  mv "$target.partial" "$target"
  rm -rf "$root"
  log "rootfs for $arch -> $target"
}

ensure_dockerd() {
  docker version >/dev/null 2>&1 && return 0
  log "starting dockerd (log: $LOG_DIR/dockerd.log)"
  # setsid: its own session, so it outlives this script and the terminal. There is no systemd here,
  # and without iptables/bridge it needs no network privileges this machine may lack.
  setsid dockerd --iptables=false --ip6tables=false --bridge=none >"$LOG_DIR/dockerd.log" 2>&1 </dev/null &
  wait_for 60 docker version || die "dockerd did not answer within 60 s; see $LOG_DIR/dockerd.log"
}

ensure_registry() {
  http_ok "http://$REGISTRY_ADDR/v2/" && return 0
  mkdir -p "$(dirname "$REGISTRY_CONFIG")" "$REGISTRY_ROOT"
  cat >"$REGISTRY_CONFIG" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REGISTRY_ROOT
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
  log "starting docker-registry on $REGISTRY_ADDR (log: $LOG_DIR/registry.log)"
  setsid docker-registry serve "$REGISTRY_CONFIG" >"$LOG_DIR/registry.log" 2>&1 </dev/null &
  wait_for 30 http_ok "http://$REGISTRY_ADDR/v2/" || die "registry did not answer within 30 s; see $LOG_DIR/registry.log"
}

ensure_postgres() {
  if ! pg_lsclusters --no-header | grep -q "^$PG_VERSION \+main "; then
    log "creating PostgreSQL cluster $PG_VERSION/main"
    quietly pg-create pg_createcluster "$PG_VERSION" main
  fi
  if ! pg_ctlcluster "$PG_VERSION" main status >/dev/null 2>&1; then
    log "starting PostgreSQL $PG_VERSION/main"
    quietly pg-start pg_ctlcluster "$PG_VERSION" main start
  fi
  wait_for 30 pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL did not accept connections within 30 s"
  if ! psql "$PG_URL" -Atqc 'select 1' >/dev/null 2>&1; then
    log "setting the postgres user's password for TCP logins"
    runuser -u postgres -- psql -qc "ALTER USER postgres PASSWORD 'postgres'"
  fi
}

write_env() {
  local qemu_deb
  qemu_deb=$(compgen -G "$DEBS_DIR/qemu-user-static_*.deb" | head -n 1)
  {
    printf 'export BINFLEET_FIXTURES=%q\n' "$FIXTURES"
    printf 'export BINFLEET_BUSYBOX_DIR=%q\n' "$BUSYBOX_DIR"
    printf 'export BINFLEET_QEMU_DEB=%q\n' "$qemu_deb"
    printf 'export BINFLEET_QEMU_DEBS_DIR=%q\n' "$QEMU_DEBS_DIR"
    printf 'export BINFLEET_REGISTRY=%q\n' "$REGISTRY_ADDR"
    printf 'export BINFLEET_PG_URL=%q\n' "$PG_URL"
    printf 'export CHROMIUM=%q\n' /usr/bin/chromium
  } >"$FIXTURES/env.sh.partial"
  mv "$FIXTURES/env.sh.partial" "$FIXTURES/env.sh"
}

main() {
  ((EUID == 0)) || die "must run as root (it installs packages and starts daemons): sudo bash $0"
  mkdir -p "$LOG_DIR" "$DEBS_DIR" "$QEMU_DEBS_DIR" "$BUSYBOX_DIR" "$ROOTFS_DIR"
  ensure_pnpm
  # Architectures first, so a fresh machine needs a single apt-get update.
  ensure_foreign_arches
  ensure_apt_packages
  ensure_qemu_deb
  for arch in "${QEMU_HOST_ARCHES[@]}"; do ensure_foreign_qemu_deb "$arch"; done
  for arch in "${BUSYBOX_ARCHES[@]}"; do
    ensure_busybox "$arch"
    ensure_rootfs "$arch"
  done
  ensure_dockerd
  ensure_registry
  ensure_postgres
  write_env
  log "ready; facts in $FIXTURES/env.sh"
}

main "$@"
