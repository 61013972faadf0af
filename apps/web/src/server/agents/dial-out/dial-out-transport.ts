import { agentApi } from '@binfleet/agent-contract';
import type { Host } from '@binfleet/db';
import { AgentCallFailure, type AgentTransport } from '../agent-transport.ts';
import type { DialOutCalls } from './dial-out-calls.ts';

/** How long a dial-out builder may take to fetch a package (the agent bounds its download the same). */
const FETCH_PACKAGE_MS = 10 * 60_000;

/**
 * Reaches a dial-out agent through its calls: each call is an AgentCall row its channel delivers and
 * its result ends. The control plane opens no connection to the host: a package is the agent's to
 * fetch (`fetchPackage`: it GETs /api/agent/packages/<sha256> with its credential).
 */
export const dialOutTransport =
  (calls: DialOutCalls) =>
  (host: Pick<Host, 'id' | 'hostname'>, timeoutMs: number): AgentTransport => ({
    call: (procedure, _kind, input, signal) => calls.call(host, procedure, input, signal, timeoutMs),
    async sendPackage(upload) {
      const answer = await calls.call(
        host,
        'fetchPackage',
        { sha256: upload.sha256 },
        AbortSignal.timeout(FETCH_PACKAGE_MS),
        FETCH_PACKAGE_MS,
      );
      const parsed = agentApi.fetchPackage.output.safeParse(answer);
      if (!parsed.success)
        throw new AgentCallFailure({ kind: 'malformed', procedure: 'fetchPackage' }, parsed.error.message);
      return parsed.data.outcome === 'present' ? 'present' : 'sent';
    },
  });
