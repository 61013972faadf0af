import type { TargetId } from '@binfleet/arch-table';
import type { JobParams, OperatorJobKind } from '~/shared/job-kinds.ts';

/** What the job dialog asks; which fields count depends on the kind. */
export interface JobForm {
  usePolicy: boolean;
  targets: TargetId[];
  persistent: boolean;
  credential: boolean;
  preserveArgv0: boolean;
  removeAll: boolean;
}

export const INITIAL_JOB_FORM: JobForm = {
  usePolicy: false,
  targets: [],
  persistent: true,
  credential: false,
  preserveArgv0: false,
  removeAll: false,
};

/** The job's parameters, or what is missing to run it. */
export function paramsOf(kind: OperatorJobKind, f: JobForm): JobParams | string {
  const targets = f.targets.length > 0 ? f.targets : undefined;
  const flags = { persistent: f.persistent, credential: f.credential, preserveArgv0: f.preserveArgv0 };
  switch (kind) {
    case 'reset-register':
      return f.usePolicy
        ? { kind, usePolicy: true, ...flags }
        : { kind, usePolicy: false, ...(targets ? { targets } : {}), ...flags };
    case 'register':
      return targets ? { kind, targets, ...flags } : 'Pick the targets to register.';
    case 'remove':
      return f.removeAll
        ? { kind, all: true }
        : targets
          ? { kind, targets }
          : 'Pick the targets to remove, or remove every qemu entry.';
    case 'enable':
    case 'disable':
      return targets ? { kind, targets } : `Pick the targets to ${kind}.`;
    case 'verify':
      return { kind, ...(targets ? { targets } : {}) };
  }
}

/** The flags a registering job will set, spelled out for the confirmation. */
export function flagsOf(params: JobParams): string | null {
  if (!(params.kind === 'register' || (params.kind === 'reset-register' && !params.usePolicy))) return null;
  const on = [
    params.persistent && 'persistent (F)',
    params.credential && 'credential (OC)',
    params.preserveArgv0 && 'preserve-argv0 (P)',
  ].filter(Boolean);
  return on.length ? on.join(', ') : 'none';
}
