// The one schema by itself: through the package's index, the CLI's start would build every schema
// of the contract (API, control plane, builds) for a `register` that needs this one.
import {
  desiredStateSchema,
  type DesiredState,
  type DesiredStateInput,
} from '@binfleet/agent-contract/desired-state';
import { AgentError } from '../errors.ts';

/** Validates a desired state; bad input becomes an AgentError that says which field and why. */
export function desiredState(input: DesiredStateInput): DesiredState {
  const result = desiredStateSchema.safeParse(input);
  if (!result.success) {
    const why = result.error.issues
      .map((i) => (i.path.length ? `${i.path.join('.')}: ` : '') + i.message)
      .join('; ');
    throw new AgentError('INVALID_INPUT', why);
  }
  return result.data;
}
