import type { Readable } from 'node:stream';
import type { PackageStore, StoredPackage } from '@binfleet/deb';
import { asAgentError } from '../errors.ts';

const rethrow = (error: unknown): never => {
  throw asAgentError(error);
};

/**
 * A builder's package store: the shared one with its refusals as AgentErrors, which the agent's API
 * answers (an upload with 400 or 413, a build naming a missing package with its tRPC code).
 */
export class AgentPackageStore implements PackageStore {
  constructor(private readonly store: PackageStore) {}

  get maxBytes(): number {
    return this.store.maxBytes;
  }

  pathOf(sha256: string): string {
    try {
      return this.store.pathOf(sha256);
    } catch (error) {
      return rethrow(error);
    }
  }

  get(sha256: string): Promise<StoredPackage | undefined> {
    return this.store.get(sha256).catch(rethrow);
  }

  require(sha256: string): Promise<StoredPackage> {
    return this.store.require(sha256).catch(rethrow);
  }

  receive(body: Readable, expectedSha256?: string): Promise<StoredPackage & { created: boolean }> {
    return this.store.receive(body, expectedSha256).catch(rethrow);
  }
}
