import { controlPlanePackagePath, type FetchPackageOutcome } from '@binfleet/agent-contract';
import type { PackageStore } from '@binfleet/deb';
import type { ControlPlaneClient } from '../control-plane/control-plane-client.ts';
import { AgentError } from '../errors.ts';

/** How long one package may take to arrive (a qemu-user-static .deb is ~30 MB). */
const FETCH_TIMEOUT_MS = 10 * 60_000;

/** The control plane a dial-out agent dialed, and the credential it presents there now. */
export interface PackageOrigin {
  readonly client: ControlPlaneClient;
  readonly token: () => Promise<string>;
}

/**
 * A dial-out builder's packages: the control plane cannot send them (it opens no connection to the
 * host), so the agent fetches the one a build needs from it, into the store a direct builder's
 * uploads go to, which checks its sha256 and that it is a Debian package.
 */
export class PackageFetcher {
  constructor(
    private readonly store: PackageStore,
    /** Known once the agent has read its link: undefined for an agent reached directly. */
    private readonly origin: () => PackageOrigin | undefined,
  ) {}

  async fetch(sha256: string): Promise<FetchPackageOutcome> {
    const kept = await this.store.get(sha256);
    if (kept) return { outcome: 'present', size: kept.size };
    const origin = this.origin();
    if (!origin) {
      throw new AgentError(
        'INVALID_INPUT',
        'This agent is reached directly: the control plane sends it packages (PUT /packages/<sha256>); only agents that dial out fetch them.',
      );
    }
    const body = await origin.client.download(
      controlPlanePackagePath(sha256),
      await origin.token(),
      FETCH_TIMEOUT_MS,
    );
    const stored = await this.store.receive(body, sha256);
    return { outcome: 'fetched', size: stored.size };
  }
}
