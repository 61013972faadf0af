import type { Db } from '@binfleet/db';
import { ControlPlaneError } from '../errors.ts';
import { normalizePublicUrl, publicUrlProblem, publicUrlWarning } from '../security/public-url.ts';
import type { Actor, AuditService } from './audit.ts';

const PUBLIC_URL = 'publicUrl';

export interface PublicUrlSetting {
  /** The URL hosts are told, or undefined when neither the setting nor BINFLEET_PUBLIC_URL gives one. */
  readonly url?: string;
  readonly source: 'settings' | 'environment' | 'unset';
  /** Why other hosts could not use it (loopback, unset). */
  readonly warning?: string;
}

/** Settings admins change at run time; each overrides its environment default while it is set. */
export class SettingsService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    private readonly defaults: { readonly publicUrl?: string },
  ) {}

  async publicUrl(): Promise<PublicUrlSetting> {
    const row = await this.db.setting.findUnique({ where: { key: PUBLIC_URL } });
    const url = row?.value ?? this.defaults.publicUrl;
    const source = row ? 'settings' : url ? 'environment' : 'unset';
    const warning = publicUrlWarning(url);
    return { ...(url ? { url } : {}), source, ...(warning ? { warning } : {}) };
  }

  /** null goes back to BINFLEET_PUBLIC_URL (or nothing). */
  async setPublicUrl(actor: Actor, raw: string | null): Promise<PublicUrlSetting> {
    const before = await this.publicUrl();
    if (raw === null) {
      await this.db.setting.deleteMany({ where: { key: PUBLIC_URL } });
    } else {
      const problem = publicUrlProblem(raw.trim());
      if (problem)
        throw new ControlPlaneError(
          'INVALID_INPUT',
          `The public URL ${problem}: give the http(s) address hosts reach binfleet at, e.g. https://binfleet.example.com.`,
        );
      const value = normalizePublicUrl(raw.trim());
      await this.db.setting.upsert({
        where: { key: PUBLIC_URL },
        create: { key: PUBLIC_URL, value, updatedById: actor.id },
        update: { value, updatedById: actor.id },
      });
    }
    const after = await this.publicUrl();
    await this.audit.record({
      actor,
      action: 'settings.public-url',
      targets: [after.url ?? '(unset)'],
      params: { from: before.url ?? null, to: after.url ?? null, source: after.source },
      outcome: 'success',
    });
    return after;
  }
}
