import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * The control plane's own certificate, as hosts pin it: the sha256 of its public key (SPKI, DER) in
 * base64, the form `curl --pinnedpubkey sha256//...` takes. Read once per file.
 */
export class TlsPin {
  private cached: { pem: string; pin: string } | undefined;

  constructor(private readonly certFile: string | undefined) {}

  /** undefined when the control plane serves plain HTTP (or TLS through a proxy with a public CA). */
  current(): { pem: string; pin: string } | undefined {
    if (!this.certFile) return undefined;
    if (!this.cached) {
      const pem = readFileSync(this.certFile, 'utf8');
      const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
      this.cached = { pem, pin: createHash('sha256').update(spki).digest('base64') };
    }
    return this.cached;
  }
}

/** base64 -> base64url without padding, so a pin fits in a code (`token.pin`). */
export const pinForCode = (pin: string) => pin.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
