// Secrets the server must use, not only check: the token it presents to each agent's API and registry
// passwords. Hashing would make them useless, so they are sealed with AES-256-GCM under a server key that
// never enters the database: a copy of the database alone reveals none of them, and a sealed value
// moved to another row does not open (the row is bound in as associated data).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT = 'v1';

export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
}

export interface SecretBox {
  /** `context` names where the value lives, e.g. `host:<id>:agentToken`; open needs the same. */
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== KEY_BYTES)
    throw new SecretBoxError(`The server key must be ${KEY_BYTES} bytes, got ${key.length}.`);
  return {
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `${FORMAT}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url')}`;
    },
    open(sealed, context) {
      const [format, payload] = sealed.split(':');
      if (format !== FORMAT || payload === undefined)
        throw new SecretBoxError('Not a sealed secret (unknown format).');
      const bytes = Buffer.from(payload, 'base64url');
      if (bytes.length < IV_BYTES + TAG_BYTES) throw new SecretBoxError('Sealed secret is truncated.');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      try {
        return Buffer.concat([
          decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)),
          decipher.final(),
        ]).toString('utf8');
      } catch {
        throw new SecretBoxError(
          'Sealed secret does not open: it was sealed under another server key or for another record.',
        );
      }
    },
  };
}

/** A key given as 64 hex characters or base64 of 32 bytes (e.g. `openssl rand -base64 32`). */
export function parseSecretKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new SecretBoxError(
      `The server key must be 32 bytes as 64 hex characters or base64 (openssl rand -base64 32).`,
    );
  }
  return key;
}

/**
 * Reads the key file, creating it (mode 0600) with a random key on first start. Losing the file makes
 * every sealed secret unreadable: agents then have to re-join.
 */
export function loadOrCreateSecretKeyFile(file: string): Buffer {
  try {
    return parseSecretKey(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  try {
    fs.writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      return parseSecretKey(fs.readFileSync(file, 'utf8'));
    throw error;
  }
}
