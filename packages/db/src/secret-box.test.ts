import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSecretBox, loadOrCreateSecretKeyFile, parseSecretKey, SecretBoxError } from './secret-box.ts';

describe('secret box', () => {
  const box = createSecretBox(randomBytes(32));

  it('opens what it sealed, for the same record only', () => {
    const sealed = box.seal('agent-token-123', 'host:1:agentToken');
    expect(sealed).toMatch(/^v1:/);
    expect(sealed).not.toContain('agent-token-123');
    expect(box.open(sealed, 'host:1:agentToken')).toBe('agent-token-123');
    expect(() => box.open(sealed, 'host:2:agentToken')).toThrow(SecretBoxError);
  });

  it('seals the same value differently each time', () => {
    expect(box.seal('x', 'c')).not.toBe(box.seal('x', 'c'));
  });

  it('detects another key and tampering', () => {
    const sealed = box.seal('password', 'registry:1:password');
    expect(() => createSecretBox(randomBytes(32)).open(sealed, 'registry:1:password')).toThrow(
      /another server key/,
    );
    const bytes = Buffer.from(sealed.slice(3), 'base64url');
    bytes[bytes.length - 1]! ^= 1;
    expect(() => box.open(`v1:${bytes.toString('base64url')}`, 'registry:1:password')).toThrow(
      SecretBoxError,
    );
    expect(() => box.open('plain-text', 'registry:1:password')).toThrow(/unknown format/);
  });

  it('reads keys as hex or base64 and refuses other lengths', () => {
    const key = randomBytes(32);
    expect(parseSecretKey(key.toString('hex'))).toEqual(key);
    expect(parseSecretKey(`${key.toString('base64')}\n`)).toEqual(key);
    expect(() => parseSecretKey(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
    expect(() => createSecretBox(randomBytes(16))).toThrow(/32 bytes/);
  });

  it('creates the key file once, private to its owner, and reads it back', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'binfleet-key-'));
    try {
      const file = path.join(dir, 'keys', 'server.key');
      const key = loadOrCreateSecretKeyFile(file);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(loadOrCreateSecretKeyFile(file)).toEqual(key);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
