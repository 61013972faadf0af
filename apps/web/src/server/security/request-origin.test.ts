import { describe, expect, it } from 'vitest';
import { Networks } from './networks.ts';
import { PEER_HEADER, PEER_PROTO_HEADER, requestOrigin } from './request-origin.ts';

const proxies = Networks.parse(['127.0.0.1', '10.0.0.0/8']);
const none = Networks.parse([]);
const h = (headers: Record<string, string>) => new Headers(headers);

describe('requestOrigin', () => {
  it('is the peer, whatever X-Forwarded-For says, unless the peer is a trusted proxy', () => {
    const forged = h({ 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' });
    expect(requestOrigin(forged, proxies, { address: '198.51.100.2', https: false })).toEqual({
      address: '198.51.100.2',
      https: false,
    });
    expect(requestOrigin(forged, none, { address: '127.0.0.1', https: false }).address).toBe('127.0.0.1');
  });

  it('behind trusted proxies, takes the first address from the right that no trusted proxy wrote', () => {
    const chain = h({
      'x-forwarded-for': '6.6.6.6, 198.51.100.9, 10.1.2.3',
      'x-forwarded-proto': 'http, https',
    });
    expect(requestOrigin(chain, proxies, { address: '::ffff:127.0.0.1', https: false })).toEqual({
      address: '198.51.100.9',
      https: true,
    });
  });

  it('under Next reads the peer from the headers stampPeers writes; without them, unknown', () => {
    const stamped = h({
      [PEER_HEADER]: '::ffff:192.0.2.1',
      [PEER_PROTO_HEADER]: 'https',
      'x-forwarded-for': '1.2.3.4',
    });
    expect(requestOrigin(stamped, none, undefined)).toEqual({ address: '192.0.2.1', https: true });
    expect(requestOrigin(h({ 'x-forwarded-for': '1.2.3.4' }), none, undefined)).toEqual({
      address: 'unknown',
      https: false,
    });
  });
});
