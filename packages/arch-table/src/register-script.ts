import { expectedEntry, formatEntryFile } from './entry-file.ts';
import { kernelFlags, scriptFlags } from './flags.ts';
import { HOST_ARCH_RULES, targetsForHost, unknownHostArchMessage } from './host-family.ts';
import { encodeRegisterLine, targetRegisterSpec } from './register-line.ts';
import { TARGETS, TARGET_IDS, type TargetId } from './targets.ts';

export interface RegisterScriptOptions {
  /** Where the image keeps the emulators (the seed: /usr/bin). */
  readonly interpreterDir?: string;
  /** Appended to `qemu-<cpu>` (the seed: -static). */
  readonly suffix?: string;
}

/** Where the register image keeps its entrypoint. */
export const REGISTER_SCRIPT_PATH = '/register';

/**
 * The register image's entrypoint: a POSIX sh script (busybox ash, dash) that does what
 * `binfleet-agent register` does, so that `docker run --rm --privileged IMAGE --reset -p yes` behaves
 * like the seed image. Every rule comes from this package, evaluated here and written out as data:
 * host-name normalisation (HOST_ARCH_RULES), which targets a host skips (targetsForHost, with and
 * without --ignore-family), the flag letters for each -c/-p/-g combination (scriptFlags, kernelFlags),
 * each target's register line (encodeRegisterLine) and the entry file the kernel shows for it
 * (formatEntryFile), which the script compares before writing: registering identically is a no-op.
 */
export function renderRegisterScript(options: RegisterScriptOptions = {}): string {
  const location = {
    interpreterDir: options.interpreterDir ?? '/usr/bin',
    suffix: options.suffix ?? '-static',
  };
  return [HEADER, hostArchCase(), skipCase(), flagsCase(), targetCalls(location), MAIN].join('\n');
}

const shQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/** Inside double quotes, with `$arch` left to the shell. */
const shMessage = (template: string) =>
  `"${template.replace(/[\\"$`]/g, '\\$&').replace('@ARCH@', '${arch}')}"`;

function hostArchCase(): string {
  const byCpu = new Map<string, string[]>();
  for (const rule of HOST_ARCH_RULES) byCpu.set(rule.cpu, [...(byCpu.get(rule.cpu) ?? []), rule.glob]);
  const arms = [...byCpu].map(([cpu, globs]) => `  ${globs.join('|')}) cpu=${cpu} ;;`);
  return [
    '# qemu_normalize: the host name as a QEMU target.',
    'case "$arch" in',
    ...arms,
    '  *) cpu=$arch ;;',
    'esac',
    '',
  ].join('\n');
}

function skipCase(): string {
  const skipped = (cpu: string, ignoreFamily: boolean) => {
    const kept = new Set(targetsForHost(cpu, { ignoreFamily }));
    return ` ${TARGET_IDS.filter((id) => !kept.has(id)).join(' ')} `;
  };
  const groups = new Map<string, string[]>();
  for (const { id } of TARGETS) {
    const key = `skip=${shQuote(skipped(id, false))} skip_ignore_family=${shQuote(skipped(id, true))}`;
    groups.set(key, [...(groups.get(key) ?? []), id]);
  }
  const arms = [...groups].map(([assign, cpus]) => `  ${cpus.join('|')}) ${assign} ;;`);
  return [
    '# Targets the host runs natively, which it does not register (with --ignore-family: only itself).',
    'case "$cpu" in',
    ...arms,
    `  *) die ${shMessage(unknownHostArchMessage('@ARCH@'))} ;;`,
    'esac',
    '[ "$ignore_family" = no ] || skip=$skip_ignore_family',
    '',
  ].join('\n');
}

function flagsCase(): string {
  const arms: string[] = [];
  for (const credential of [false, true])
    for (const persistent of [false, true])
      for (const preserveArgv0 of [false, true]) {
        const line = scriptFlags({ credential, persistent, preserveArgv0 });
        const yn = (v: boolean) => (v ? 'yes' : 'no');
        arms.push(
          `  ${yn(credential)}${yn(persistent)}${yn(preserveArgv0)}) line_flags=${shQuote(line)} entry_flags=${shQuote(kernelFlags(line))} ;;`,
        );
      }
  return [
    '# Flags in the order the register line takes them and in the order the kernel prints them.',
    'case "$credential$persistent$preserve" in',
    ...arms,
    'esac',
    '',
  ].join('\n');
}

function targetCalls(location: { interpreterDir: string; suffix: string }): string {
  const calls = TARGETS.map(({ id }) => {
    // The longest line this target can get must fit the kernel's limits too.
    encodeRegisterLine(
      targetRegisterSpec(id as TargetId, {
        ...location,
        credential: true,
        persistent: true,
        preserveArgv0: true,
      }),
    );
    const spec = targetRegisterSpec(id as TargetId, location);
    const line = encodeRegisterLine(spec);
    const [, ...lines] = formatEntryFile(expectedEntry(spec)).replace(/\n$/, '').split('\n');
    const flagsAt = lines.findIndex((l) => l.startsWith('flags: '));
    const before = lines.slice(0, flagsAt + 1).join('\n');
    const after = lines
      .slice(flagsAt + 1)
      .map((l) => `\n${l}`)
      .join('');
    return `  "$1" ${id} ${spec.name} ${shQuote(spec.interpreter)} \\\n    ${shQuote(line)} \\\n    ${shQuote(before)} ${shQuote(after)}`;
  });
  return [
    '# Calls $1 with: cpu, entry name, interpreter, register line without flags, and the entry file the',
    '# kernel shows for it without its state line, split where the flags go.',
    'each_target() {',
    ...calls,
    '}',
    '',
  ].join('\n');
}

const HEADER = String.raw`#!/bin/sh
# binfleet register entrypoint, rendered by @binfleet/arch-table (renderRegisterScript) from its
# target table: change the table, not this file.
set -u

usage() {
  printf '%s\n' \
    'Usage: docker run --rm --privileged IMAGE [--reset] [--force] [options]' \
    '' \
    'Registers QEMU user-mode emulators in binfmt_misc, like binfleet-agent register.' \
    '' \
    '  --reset                  remove every qemu-* entry first' \
    '  --force                  replace entries registered with other settings' \
    '  -p, --persistent yes|no  F flag: load the interpreter now, works in containers and chroots' \
    '  -c, --credential yes|no  OC flags: credentials from the binary (sudo in emulated containers)' \
    '  -g, --preserve-argv0 yes|no  P flag: keep argv[0]' \
    '  -i, --ignore-family yes|no   also register targets of the host'"'"'s family' \
    '      --mount-point PATH   binfmt_misc mount point (default $BINFLEET_BINFMT_MOUNT or /proc/sys/fs/binfmt_misc)' \
    '  -h, --help               this text' \
    '' \
    'HOST_ARCH overrides uname -m for the host family rules.' \
    'Registering what is already registered identically is a no-op.'
}

die() {
  printf '%s\n' "$*" >&2
  exit 1
}

yes_no() {
  case "$2" in
    yes | no) ;;
    *) die "$1 expects yes or no, got \"$2\"." ;;
  esac
}

mount_point=${'$'}{BINFLEET_BINFMT_MOUNT:-/proc/sys/fs/binfmt_misc}
reset=no force=no credential=no persistent=no preserve=no ignore_family=no
while [ $# -gt 0 ]; do
  opt=$1 value= has_value=no
  case "$opt" in
    --*=*) value=${'$'}{opt#*=} opt=${'$'}{opt%%=*} has_value=yes ;;
    -p | -c | -g | -i | --persistent | --credential | --preserve-argv0 | --ignore-family | --mount-point)
      [ $# -ge 2 ] || die "Option $opt needs a value. See --help."
      value=$2 has_value=yes
      shift
      ;;
  esac
  case "$opt" in
    --reset | --force | -h | --help) [ "$has_value" = no ] || die "Option $opt takes no value. See --help." ;;
  esac
  case "$opt" in
    --reset) reset=yes ;;
    --force) force=yes ;;
    -p | --persistent) yes_no --persistent "$value" && persistent=$value ;;
    -c | --credential) yes_no --credential "$value" && credential=$value ;;
    -g | --preserve-argv0) yes_no --preserve-argv0 "$value" && preserve=$value ;;
    -i | --ignore-family) yes_no --ignore-family "$value" && ignore_family=$value ;;
    --mount-point) mount_point=$value ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "Unknown option \"$1\". See --help." ;;
  esac
  shift
done

arch=${'$'}{HOST_ARCH:-$(uname -m)}
`;

const MAIN = String.raw`nl='
'

is_skipped() {
  case "$skip" in
    *" $1 "*) return 0 ;;
  esac
  return 1
}

# The entry file without its first (enabled/disabled) line.
entry_body() {
  {
    IFS= read -r _state
    while IFS= read -r _line; do printf '%s\n' "$_line"; done
  } <"$1"
}

# register, same, replace or conflict: what this target's entry needs.
action_of() {
  if [ "$reset" = yes ] || [ ! -f "$mount_point/$2" ]; then
    echo register
  elif [ "$(entry_body "$mount_point/$2")" = "$5$entry_flags$6" ]; then
    echo same
  elif [ "$force" = yes ]; then
    echo replace
  else
    echo conflict
  fi
}

conflicts= missing=
check() {
  is_skipped "$1" && return 0
  case $(action_of "$@") in
    conflict) conflicts="$conflicts $2" ;;
    register | replace)
      case "$entry_flags" in
        *F*) [ -x "$3" ] || missing="$missing $3" ;;
      esac
      ;;
  esac
  return 0
}

write() {
  printf '%s' "$1" >"$2" || die "Writing $1 to $2 failed: see the error above."
}

apply() {
  is_skipped "$1" && return 0
  case $(action_of "$@") in
    same)
      IFS= read -r _state <"$mount_point/$2"
      if [ "$_state" = disabled ]; then
        write 1 "$mount_point/$2"
        echo "Enabled $2"
      else
        echo "$2 is already registered identically"
      fi
      return 0
      ;;
    replace)
      write -1 "$mount_point/$2"
      echo "Removed $2 (registered with other settings)"
      ;;
  esac
  printf '%s' "$4$line_flags" >"$mount_point/register" ||
    die "The kernel refused to register $2 (see the error above): with F it needs Linux >= 4.8, with P >= 4.12."
  echo "Setting $3 as binfmt interpreter for $1"
}

if [ ! -f "$mount_point/register" ]; then
  [ -d "$mount_point" ] ||
    die "No binfmt_misc in this kernel ($mount_point is missing): run modprobe binfmt_misc on the host."
  mount -t binfmt_misc binfmt_misc "$mount_point" ||
    die "binfmt_misc is not mounted at $mount_point and mounting it failed: run the container with --privileged."
fi

each_target check
[ -z "$conflicts" ] ||
  die "Some entries are registered with other settings (use --reset or --force to replace them):$conflicts"
[ -z "$missing" ] ||
  die "Persistent (F) registration needs the interpreters to exist now; missing:$missing. Use an image that carries the emulators, or register without -p yes."

if [ "$reset" = yes ]; then
  for entry in "$mount_point"/qemu-*; do
    [ -f "$entry" ] || continue
    write -1 "$entry"
    echo "Removed ${'$'}{entry##*/}"
  done
fi
each_target apply
`;
