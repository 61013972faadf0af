import { expectedEntry, formatEntryFile, parseRegisterLine, type KernelEntry } from '@binfleet/arch-table';
import type { BinfmtFs } from '../adapters/binfmt-fs.ts';
import { AgentError } from '../errors.ts';

/**
 * binfmt_misc in memory, for unit tests of the services above BinfmtFs: entries are kept as the
 * kernel would show them, every write is recorded, and a test can make the "kernel" refuse lines.
 */
export class MemoryBinfmtFs implements BinfmtFs {
  readonly mountPoint = '/memory/binfmt_misc';
  readonly entries = new Map<string, KernelEntry>();
  /** Every write, as `register <line>`, `<name> 1|0|-1`. */
  readonly writes: string[] = [];
  mounted = true;
  /** Return an AgentError to refuse a register line, as the kernel does with EINVAL. */
  refuse: (line: string) => AgentError | undefined = () => undefined;

  async isMounted() {
    return this.mounted;
  }
  async mount() {
    this.mounted = true;
  }
  async unmount() {
    this.mounted = false;
    this.entries.clear();
  }
  async isWritable() {
    return this.mounted;
  }
  async isEnabled() {
    return this.mounted;
  }
  async list() {
    this.requireMounted();
    return [...this.entries.keys()].sort();
  }
  async read(name: string) {
    this.requireMounted();
    const entry = this.entries.get(name);
    return entry && formatEntryFile(entry);
  }
  batched<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  async register(line: string) {
    this.requireMounted();
    this.writes.push(`register ${line}`);
    const refused = this.refuse(line);
    if (refused) throw refused;
    const entry = expectedEntry(parseRegisterLine(line));
    if (this.entries.has(entry.name))
      throw new AgentError('ENTRY_EXISTS', `Entry ${entry.name} already exists.`);
    this.entries.set(entry.name, entry);
  }
  async setEnabled(name: string, enabled: boolean) {
    this.writes.push(`${name} ${enabled ? 1 : 0}`);
    const entry = this.require(name);
    this.entries.set(name, { ...entry, enabled });
  }
  async remove(name: string) {
    this.writes.push(`${name} -1`);
    this.require(name);
    this.entries.delete(name);
  }

  private require(name: string): KernelEntry {
    this.requireMounted();
    const entry = this.entries.get(name);
    if (!entry) throw new AgentError('ENTRY_NOT_FOUND', `There is no binfmt_misc entry ${name}.`);
    return entry;
  }

  private requireMounted() {
    if (!this.mounted)
      throw new AgentError('NOT_MOUNTED', `binfmt_misc is not mounted at ${this.mountPoint}.`);
  }
}
