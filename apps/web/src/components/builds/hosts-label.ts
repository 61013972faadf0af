/** The host architectures a build covers, e.g. `amd64 + arm64 hosts`. */
export const hostsLabel = (archs: readonly string[]) =>
  archs.length ? `${archs.join(' + ')} host${archs.length === 1 ? '' : 's'}` : 'hosts not read yet';
