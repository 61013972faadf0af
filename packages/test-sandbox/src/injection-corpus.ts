/**
 * Register-line injection corpus: values that try to smuggle something into a binfmt_misc register
 * line (`:name:type:offset:magic:mask:interpreter:flags`) or into a path the agent acts on. Every
 * input that reaches an agent (its API, the control plane's job, policy and build inputs, the CLI)
 * must refuse each of them with a message, and leave the kernel's binfmt_misc unchanged.
 *
 * Each attack comes in the shape of the field it is aimed at, so that it is refused for what it
 * carries and not merely for looking wrong:
 * - `path`: an interpreter directory (`/usr/bin`) or a file on a builder host;
 * - `word`: an interpreter suffix (`-static`);
 * - `arch`: an architecture name (`aarch64`).
 */
export interface Injection {
  readonly attack: string;
  readonly path: string;
  readonly word: string;
  readonly arch: string;
  /**
   * Whether the attack also matters in a plain file path (a package on a builder host): control
   * characters, dot segments, relative, empty, invisible Unicode. ':', spaces or '$' are legal in a
   * file name the agent only opens; they only matter in a register line.
   */
  readonly inFilePaths: boolean;
}

/** The same kernel limit arch-table enforces (an interpreter path of at most 127 characters). */
const INTERPRETER_MAX = 127;

export const INJECTIONS: readonly Injection[] = [
  {
    attack: "':' (splits the register line)",
    path: '/usr/bin:F',
    word: '-static:F',
    arch: 'aarch64:F',
    inFilePaths: false,
  },
  {
    attack: 'newline (a second register line)',
    path: '/usr/bin\n:evil:E::sh::/bin/sh:',
    word: '-static\n:evil:E::sh::/bin/sh:',
    arch: 'aarch64\n:evil:E::sh::/bin/sh:',
    inFilePaths: true,
  },
  { attack: 'carriage return', path: '/usr/bin\r', word: '-static\r', arch: 'aarch64\r', inFilePaths: true },
  {
    attack: 'NUL (ends the C string early)',
    path: '/usr/bin\0/x',
    word: '-static\0',
    arch: 'aarch64\0',
    inFilePaths: true,
  },
  {
    attack: 'DEL and C1 controls',
    path: '/usr/bin\u007f\u0085',
    word: '-static\u007f',
    arch: 'aarch64\u0085',
    inFilePaths: true,
  },
  {
    attack: "'..' segment",
    path: '/usr/../srv',
    word: '/../../srv/x',
    arch: '../aarch64',
    inFilePaths: true,
  },
  { attack: "'.' segment", path: '/usr/./bin', word: './x', arch: './aarch64', inFilePaths: true },
  { attack: 'relative path', path: 'usr/bin', word: 'tmp/x', arch: 'qemu/aarch64', inFilePaths: true },
  { attack: 'empty', path: '', word: ' ', arch: '', inFilePaths: true },
  {
    attack: 'overlong (past the kernel limit)',
    path: '/' + 'a'.repeat(INTERPRETER_MAX + 10),
    word: '-' + 'a'.repeat(40),
    arch: 'a'.repeat(80),
    inFilePaths: false,
  },
  {
    attack: 'overlong once the emulator name is appended',
    path: '/' + 'a'.repeat(INTERPRETER_MAX - 15),
    word: '-' + 'a'.repeat(33),
    arch: 'aarch64' + 'a'.repeat(60),
    inFilePaths: false,
  },
  {
    attack: 'huge (64 KiB)',
    path: '/' + 'a'.repeat(65_536),
    word: 'a'.repeat(65_536),
    arch: 'a'.repeat(65_536),
    inFilePaths: true,
  },
  {
    attack: 'unicode lookalike (Cyrillic letters)',
    path: '/usr/b\u0456n',
    word: '-st\u0430tic',
    arch: '\u0430arch64',
    inFilePaths: false,
  },
  {
    attack: 'right-to-left override',
    path: '/usr/bin\u202e',
    word: '-static\u202e',
    arch: 'aarch64\u202e',
    inFilePaths: true,
  },
  {
    attack: 'zero-width space',
    path: '/usr/\u200bbin',
    word: '-\u200bstatic',
    arch: 'aarch\u200b64',
    inFilePaths: true,
  },
  {
    attack: 'fullwidth slash and colon',
    path: '/usr\uff0fbin\uff1aF',
    word: '-static\uff1aF',
    arch: 'aarch64\uff1a',
    inFilePaths: false,
  },
  {
    attack: 'shell command substitution',
    path: '/usr/bin$(reboot)',
    word: '-static$(reboot)',
    arch: '$(reboot)',
    inFilePaths: false,
  },
  {
    attack: 'shell backticks',
    path: '/usr/bin`reboot`',
    word: '`reboot`',
    arch: '`reboot`',
    inFilePaths: false,
  },
  {
    attack: 'shell separator',
    path: '/usr/bin;reboot',
    word: ';reboot',
    arch: 'aarch64;reboot',
    inFilePaths: false,
  },
  {
    attack: 'shell pipe and redirection',
    path: '/usr/bin|tee>/x',
    word: '|tee>x',
    arch: 'aarch64>x',
    inFilePaths: false,
  },
  { attack: 'quotes', path: '/usr/bin\'"', word: "-static'", arch: 'aarch64"', inFilePaths: false },
  { attack: 'whitespace', path: '/usr/local bin', word: '-static x', arch: 'aarch 64', inFilePaths: false },
  { attack: 'glob', path: '/usr/bin/*', word: '-*', arch: 'aarch*', inFilePaths: false },
  {
    attack: 'escape sequence',
    path: '/usr/bin\\x3a',
    word: '-static\\x3aF',
    arch: 'aarch64\\x0a',
    inFilePaths: false,
  },
];

/** binfmt_misc flags: only P, O, C and F exist. */
export const FLAG_INJECTIONS: readonly { readonly attack: string; readonly flags: string }[] = [
  { attack: 'unknown flag', flags: 'FX' },
  { attack: 'lower case', flags: 'f' },
  { attack: "':' (a field after the flags)", flags: 'F:' },
  { attack: 'newline', flags: 'F\n' },
  { attack: 'NUL', flags: 'F\0' },
  { attack: 'space', flags: 'F ' },
  { attack: 'fullwidth F', flags: '\uff26' },
  { attack: 'overlong', flags: 'F'.repeat(300) + 'X' },
];
