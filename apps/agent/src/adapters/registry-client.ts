/** Docker Registry v2 basic auth (also what a token service takes for its bearer tokens). */
export interface RegistryAuth {
  readonly username: string;
  readonly password: string;
}

/** A registry repository as pushes address it. */
export interface RegistryTarget {
  /** host[:port] */
  readonly registry: string;
  readonly repository: string;
  readonly auth?: RegistryAuth;
  /** Plain HTTP; loopback registries (127.0.0.0/8, localhost, ::1) always are, as dockerd treats them. */
  readonly insecure?: boolean;
}

export interface PushedManifest {
  /** The digest the registry stored it under (sha256:...). */
  readonly digest: string;
  readonly size: number;
}

/**
 * What a build asks of a registry, through the distribution API only (no dockerd). Failures are
 * AgentErrors: REGISTRY_UNREACHABLE, or REGISTRY_REFUSED with what the registry answered.
 */
export interface RegistryClient {
  /** Uploads a blob from a file unless the repository has it already; true when it was sent. */
  pushBlob(target: RegistryTarget, blob: { digest: string; size: number; path: string }): Promise<boolean>;
  /** PUT /v2/<repository>/manifests/<reference> with its media type; reference a tag or a digest. */
  pushManifest(
    target: RegistryTarget,
    reference: string,
    manifest: { mediaType: string; body: Buffer },
  ): Promise<PushedManifest>;
}
