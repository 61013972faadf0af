import type { TargetId } from '@binfleet/arch-table';
import type { PlannedAction } from './registration-plan.ts';

/** A planned or performed change as the API returns it and the reconciler logs it (plain JSON). */
export interface ActionRecord {
  readonly kind: PlannedAction['kind'];
  readonly name: string;
  readonly target?: TargetId;
  /** For `remove`: why (`reset` or `replace` of an entry with other settings). */
  readonly reason?: 'reset' | 'replace';
  /** For `register`: the line written into `register`. */
  readonly line?: string;
}

export function actionRecord(action: PlannedAction): ActionRecord {
  switch (action.kind) {
    case 'remove':
      return { kind: action.kind, name: action.name, reason: action.reason };
    case 'register':
      return { kind: action.kind, name: action.spec.name, target: action.target, line: action.line };
    default:
      return { kind: action.kind, name: action.name, target: action.target };
  }
}
