import type { Host } from '@binfleet/db';
import { AgentCallFailure, type AgentTransport } from '../agent-transport.ts';
import type { DialOutCalls } from './dial-out-calls.ts';

/**
 * Reaches a dial-out agent through its calls: each call is an AgentCall row its channel delivers and
 * its result ends. The control plane opens no connection to the host. Package transfers are the
 * agent's to fetch (not built yet): refused with what to do.
 */
export const dialOutTransport =
  (calls: DialOutCalls) =>
  (host: Pick<Host, 'id' | 'hostname'>, timeoutMs: number): AgentTransport => {
    const noPackages = () =>
      new AgentCallFailure(
        { kind: 'refused', data: { code: 'PRECONDITION_FAILED' } },
        'builds with uploaded packages need a direct agent for now: give the build paths on the builder, or join the builder with the direct transport.',
      );
    return {
      call: (procedure, _kind, input, signal) => calls.call(host, procedure, input, signal, timeoutMs),
      hasPackage: () => Promise.reject(noPackages()),
      putPackage: () => Promise.reject(noPackages()),
    };
  };
