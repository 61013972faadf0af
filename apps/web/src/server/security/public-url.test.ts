import { describe, expect, it } from 'vitest';
import { normalizePublicUrl, publicUrlProblem, publicUrlWarning } from './public-url.ts';

describe('the public URL', () => {
  it.each([
    ['https://binfleet.example.com', undefined],
    ['http://10.0.0.5:3000/', undefined],
    ['https://[fd00::1]:8443/binfleet', undefined],
    ['ftp://binfleet.example.com', 'is not http(s)'],
    [
      'https://user:pw@binfleet.example.com',
      'has characters other than letters, digits and . _ ~ : / [ ] % -',
    ],
    ['https://binfleet.example.com/?a=1', 'has characters other than letters, digits and . _ ~ : / [ ] % -'],
    [
      "https://binfleet.example.com/'$(id)'",
      'has characters other than letters, digits and . _ ~ : / [ ] % -',
    ],
    ['not a url', 'has characters other than letters, digits and . _ ~ : / [ ] % -'],
  ])('%s: %s', (url, problem) => expect(publicUrlProblem(url)).toBe(problem));

  it('drops the trailing slash so paths append', () => {
    expect(normalizePublicUrl('http://10.0.0.5:3000/')).toBe('http://10.0.0.5:3000');
    expect(normalizePublicUrl('https://cp.example/binfleet/')).toBe('https://cp.example/binfleet');
  });

  it('warns when other hosts could not reach it', () => {
    expect(publicUrlWarning(undefined)).toMatch(/No public URL is set/);
    for (const url of [
      'http://127.0.0.1:3000',
      'http://localhost:3000',
      'http://[::1]:3000',
      'http://0.0.0.0:3000',
    ])
      expect(publicUrlWarning(url)).toMatch(/loopback/);
    expect(publicUrlWarning('http://10.0.0.5:3000')).toBeUndefined();
  });
});
