import type { ActionRecord } from '@binfleet/agent-contract';
import type { PlannedAction } from './registration-plan.ts';

/** A planned or performed change as the API returns it and the reconciler logs it (plain JSON). */
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
