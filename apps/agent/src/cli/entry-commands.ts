import {
  credentialFindings,
  renderExport,
  resolveArch,
  targetsForHost,
  type ExportFormat,
  type KernelEntry,
} from '@binfleet/arch-table';
import { machine } from 'node:os';
import { parse, UsageError, yesNo } from './args.ts';
import { parseGetopt } from './getopt.ts';
import type { CommandContext } from './register-command.ts';
import { desiredFromSeed, SEED_OPTIONS, writeExportFiles } from './seed-options.ts';
import { EXPORT_USAGE, REMOVE_USAGE, STATUS_USAGE, switchUsage } from './usages.ts';

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

const resolveAll = (names: readonly string[]) => [...new Set(names.flatMap((n) => resolveArch(n)))];

export async function statusCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, { ...HELP, json: { type: 'boolean' } });
  if (values.help) return usage(ctx, STATUS_USAGE);
  if (positionals.length > 0)
    throw new UsageError(`Unexpected argument "${positionals[0]}". See status --help.`);
  const status = await ctx.registration().status();
  if (values.json) {
    ctx.out(JSON.stringify(status, null, 2));
    return 0;
  }
  if (!status.mounted) {
    ctx.out(`binfmt_misc is not mounted at ${status.mountPoint}: \`binfleet-agent register\` mounts it.`);
    return 0;
  }
  ctx.out(
    `binfmt_misc at ${status.mountPoint}: ${status.enabled ? 'enabled' : 'DISABLED'}${status.writable ? '' : ' (read-only for this user)'}`,
  );
  if (status.entries.length === 0) ctx.out('No entries registered.');
  for (const { name, entry } of status.entries) ctx.out(formatEntry(name, entry));
  return 0;
}

function formatEntry(name: string, e: KernelEntry): string {
  const state = e.enabled ? 'enabled ' : 'disabled';
  const match =
    e.type === 'M'
      ? `offset ${e.offset} magic ${e.magic}${e.mask ? ` mask ${e.mask}` : ''}`
      : `extension .${e.extension}`;
  return `${name.padEnd(20)} ${state} flags: ${e.flags.padEnd(4)} ${e.interpreter}\n${' '.repeat(21)}${match}`;
}

export async function removeCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, { ...HELP, all: { type: 'boolean' } });
  if (values.help) return usage(ctx, REMOVE_USAGE);
  if (!values.all && positionals.length === 0)
    throw new UsageError('remove: name the architectures (e.g. arm64 s390x) or give --all.');
  const targets = values.all ? 'all' : resolveAll(positionals);
  const removed = await ctx.exclusive('remove', () => ctx.registration().remove(targets));
  ctx.out(removed.length ? `Removed ${removed.join(', ')}` : 'Nothing to remove.');
  return 0;
}

export async function switchCommand(argv: string[], ctx: CommandContext, enabled: boolean): Promise<number> {
  const { values, positionals } = parse(argv, HELP);
  if (values.help) return usage(ctx, switchUsage(enabled ? 'enable' : 'disable'));
  if (positionals.length === 0)
    throw new UsageError(`${enabled ? 'enable' : 'disable'}: name the architectures (e.g. arm64).`);
  const targets = resolveAll(positionals);
  const names = await ctx.exclusive(enabled ? 'enable' : 'disable', () =>
    ctx.registration().setEnabled(targets, enabled),
  );
  ctx.out(`${enabled ? 'Enabled' : 'Disabled'} ${names.join(', ')}`);
  return 0;
}

/** `export`: the same files as `register --systemd/--debian`, for any targets (default: per host rules). */
export async function exportCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseGetopt(argv, { ...SEED_OPTIONS, ...HELP, format: { type: 'string' } });
  if (values.help) return usage(ctx, EXPORT_USAGE);
  const format = (values.format ?? 'systemd') as ExportFormat;
  if (format !== 'systemd' && format !== 'debian') throw new UsageError('--format is systemd or debian.');
  const targets = positionals.length
    ? resolveAll(positionals)
    : targetsForHost(ctx.env.hostArch ?? machine(), {
        ignoreFamily: yesNo('--ignore-family', values['ignore-family']),
      });
  const state = desiredFromSeed(values, ctx.env, targets);
  for (const f of credentialFindings(state)) ctx.err(`Warning: ${f.message}`);
  if (values.exportdir === undefined) {
    const files = renderExport(format, targets, state);
    if (values.json) ctx.out(JSON.stringify(files, null, 2));
    else for (const f of files) ctx.out(`# ${f.fileName}\n${f.content}`);
    return 0;
  }
  const written = await writeExportFiles(format, targets, state, values.exportdir);
  ctx.out(`Wrote ${written.length} files to ${values.exportdir}`);
  return 0;
}

function usage(ctx: CommandContext, text: string): number {
  ctx.out(text);
  return 0;
}
