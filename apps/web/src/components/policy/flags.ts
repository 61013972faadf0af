import type { BinfmtFlag } from '@binfleet/arch-table';

/** What each binfmt_misc flag does, in the kernel's order, in words an admin can decide with. */
export const FLAG_INFO: readonly { flag: BinfmtFlag; name: string; explanation: string; risk?: string }[] = [
  {
    flag: 'P',
    name: 'preserve-argv0',
    explanation:
      "Pass the program's own argv[0] to it instead of its path; multi-call binaries such as busybox need it.",
  },
  {
    flag: 'O',
    name: 'open-binary',
    explanation:
      'The kernel opens the binary and hands the emulator a file descriptor: runs binaries that are executable but not readable.',
  },
  {
    flag: 'C',
    name: 'credential',
    explanation:
      "Use the binary's setuid/setgid credentials instead of the emulator's (implies O): needed for sudo inside emulated containers.",
    risk: 'Setuid foreign binaries then gain real privileges on the host.',
  },
  {
    flag: 'F',
    name: 'persistent',
    explanation:
      'The kernel opens the emulator at registration and keeps it: containers and chroots work without QEMU inside them.',
  },
];

export function flagTitle(flag: string): string {
  const info = FLAG_INFO.find((f) => f.flag === flag);
  return info ? `${flag} · ${info.name}: ${info.explanation}${info.risk ? ` ${info.risk}` : ''}` : flag;
}
