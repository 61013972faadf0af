import { describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE_TEMPLATE, imageForTarget, validateImageTemplate } from './verify-image.ts';

describe('verify image template', () => {
  it('names the official image of a target, like the seed tests with arm64v8/busybox', () => {
    expect(imageForTarget(DEFAULT_IMAGE_TEMPLATE, 'aarch64')).toEqual({ image: 'arm64v8/busybox' });
    expect(imageForTarget(DEFAULT_IMAGE_TEMPLATE, 'arm')).toEqual({ image: 'arm32v7/busybox' });
    expect(imageForTarget('{official}/busybox', 'ppc64le')).toEqual({ image: 'ppc64le/busybox' });
  });

  it('fills {debian} and {target}', () => {
    expect(imageForTarget('binfleet-test/{debian}-busybox:latest', 'aarch64')).toEqual({
      image: 'binfleet-test/arm64-busybox:latest',
    });
    expect(imageForTarget('127.0.0.1:5000/probe:{target}', 'mips64el')).toEqual({
      image: '127.0.0.1:5000/probe:mips64el',
    });
  });

  it('says what to do when a target has no value for a placeholder', () => {
    const result = imageForTarget(DEFAULT_IMAGE_TEMPLATE, 'hexagon');
    expect(result).toEqual({
      missing: expect.stringMatching(/hexagon has no official-image prefix.*\{target\}/),
    });
  });

  it('rejects unknown placeholders and characters an image name cannot hold', () => {
    expect(() => validateImageTemplate('{arch}/busybox')).toThrowError(
      /unknown placeholder.*\{arch\}.*\{official\}/,
    );
    expect(() => validateImageTemplate('arm64v8/busybox; rm -rf /')).toThrowError(/not an image reference/);
    expect(() => validateImageTemplate('')).toThrowError(/not an image reference/);
    expect(validateImageTemplate('{official}/busybox')).toBe('{official}/busybox');
  });
});
