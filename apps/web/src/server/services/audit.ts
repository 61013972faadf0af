import type { AuditOutcome, Db } from '@binfleet/db';

export interface Actor {
  readonly id: string | null;
  /** A username, or "system" / "agent:<hostname>" when no user acted. */
  readonly name: string;
}

export const SYSTEM: Actor = { id: null, name: 'system' };

export interface AuditRecord {
  readonly actor: Actor;
  readonly action: string;
  readonly targets?: readonly string[];
  readonly params?: Record<string, unknown>;
  readonly outcome: AuditOutcome;
  readonly detail?: string;
}

// Keys whose values never enter the audit log, whatever procedure passes them.
const SECRET_KEY = /pass(word)?|token|secret|credential$|cookie|authorization/i;

export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        SECRET_KEY.test(k) ? '[redacted]' : redact(v),
      ]),
    );
  }
  return value;
}

/** Append-only: the db client refuses updates and deletes of audit events. */
export class AuditService {
  constructor(private readonly db: Db) {}

  /** `client` is a transaction's, when the event must be written with the change it records or not at all. */
  async record(r: AuditRecord, client: Pick<Db, 'auditEvent'> = this.db): Promise<void> {
    await client.auditEvent.create({
      data: {
        actorId: r.actor.id,
        actorName: r.actor.name,
        action: r.action,
        targets: [...(r.targets ?? [])],
        // Searchable copy of targets ("|host-a|host-b|"): JSON filters differ between providers.
        subjects: `|${(r.targets ?? []).map((t) => t.toLowerCase()).join('|')}|`,
        params: (redact(r.params ?? {}) as object) ?? {},
        outcome: r.outcome,
        ...(r.detail ? { detail: r.detail.slice(0, 2000) } : {}),
      },
    });
  }

  async list(filter: {
    actor?: string;
    action?: string;
    host?: string;
    outcomes?: readonly AuditOutcome[];
    from?: Date;
    to?: Date;
    cursor?: string;
    limit: number;
  }) {
    const rows = await this.db.auditEvent.findMany({
      where: {
        ...(filter.actor ? { actorName: { contains: filter.actor.toLowerCase() } } : {}),
        ...(filter.action ? { action: { startsWith: filter.action } } : {}),
        ...(filter.from || filter.to
          ? { at: { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lte: filter.to } : {}) } }
          : {}),
        ...(filter.host ? { subjects: { contains: `|${filter.host.toLowerCase()}|` } } : {}),
        ...(filter.outcomes ? { outcome: { in: [...filter.outcomes] } } : {}),
      },
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
      take: filter.limit + 1,
      ...(filter.cursor ? { cursor: { id: filter.cursor }, skip: 1 } : {}),
    });
    const more = rows.length > filter.limit;
    const items = more ? rows.slice(0, filter.limit) : rows;
    return { items, nextCursor: more ? items.at(-1)!.id : null };
  }
}
