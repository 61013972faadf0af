import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TokenHashes } from '../adapters/state-store.ts';
import { AgentError } from '../errors.ts';

/**
 * The agent's API token. The agent keeps only its SHA-256: tokens are random (32 bytes when the
 * agent makes one) or checked to be long, so a salted slow hash would add cost per request and no
 * protection worth having.
 */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

const TOKEN_SYNTAX = /^[\x21-\x7e]{24,512}$/;

/** Rejects tokens that are short enough to guess or that an Authorization header cannot carry. */
export function validateToken(token: string, from: string): string {
  if (!TOKEN_SYNTAX.test(token)) {
    throw new AgentError(
      'INVALID_INPUT',
      `The token from ${from} must be 24 to 512 printable characters without spaces: generate one with ` +
        '`openssl rand -base64 32`, or let the agent make one (start it without a token).',
    );
  }
  return token;
}

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

export function hashToken(token: string): string {
  return digest(token).toString('hex');
}

/**
 * Checks the API token. After a credential rotation it accepts the token it had too, until the
 * control plane presents the new one for the first time: calls the control plane started with the old
 * token still land, and the old one is refused from then on.
 */
export class BearerAuth {
  private expected!: Buffer;
  private previous: Buffer | undefined;

  constructor(
    hashes: TokenHashes,
    /** Called once the new token was presented and the previous one no longer is accepted (to keep that). */
    private readonly onPreviousRetired: (hashes: TokenHashes) => void = () => {},
  ) {
    this.replace(hashes);
  }

  /** A new token takes effect at once (joining a control plane, or a rotation, gives the agent its token). */
  replace(hashes: TokenHashes): void {
    this.expected = Buffer.from(hashes.hash, 'hex');
    this.previous = hashes.previousHash === undefined ? undefined : Buffer.from(hashes.previousHash, 'hex');
  }

  /**
   * Whether an Authorization header carries the token. Digests are compared, not tokens: equal
   * lengths whatever was sent, and timingSafeEqual so the time taken says nothing about the match.
   */
  accepts(header: string | undefined): boolean {
    const token = /^Bearer +(\S+)$/i.exec(header ?? '')?.[1];
    if (token === undefined) return false;
    const sent = digest(token);
    if (timingSafeEqual(sent, this.expected)) {
      if (this.previous) {
        this.previous = undefined;
        this.onPreviousRetired({ hash: this.expected.toString('hex') });
      }
      return true;
    }
    return this.previous !== undefined && timingSafeEqual(sent, this.previous);
  }
}
