import { describe, expect, it } from 'vitest';
import { flagsOf, INITIAL_JOB_FORM, paramsOf } from './job-form.ts';

describe('paramsOf', () => {
  it('says what is missing instead of a job without targets', () => {
    expect(paramsOf('register', INITIAL_JOB_FORM)).toBe('Pick the targets to register.');
    expect(paramsOf('disable', INITIAL_JOB_FORM)).toBe('Pick the targets to disable.');
    expect(paramsOf('remove', INITIAL_JOB_FORM)).toMatch(/remove every qemu entry/);
  });

  it('leaves out targets and flags a job takes from each host or its policy', () => {
    expect(paramsOf('verify', INITIAL_JOB_FORM)).toEqual({ kind: 'verify' });
    expect(paramsOf('remove', { ...INITIAL_JOB_FORM, removeAll: true, targets: ['aarch64'] })).toEqual({
      kind: 'remove',
      all: true,
    });
    expect(
      paramsOf('reset-register', { ...INITIAL_JOB_FORM, usePolicy: true, targets: ['aarch64'] }),
    ).toEqual({
      kind: 'reset-register',
      usePolicy: true,
      persistent: true,
      credential: false,
      preserveArgv0: false,
    });
  });
});

describe('flagsOf', () => {
  it('spells out the flags a registering job sets, and none for other jobs', () => {
    const register = paramsOf('register', { ...INITIAL_JOB_FORM, targets: ['aarch64'], credential: true });
    expect(typeof register !== 'string' && flagsOf(register)).toBe('persistent (F), credential (OC)');
    expect(flagsOf({ kind: 'enable', targets: ['aarch64'] })).toBeNull();
    expect(
      flagsOf({
        kind: 'reset-register',
        usePolicy: true,
        persistent: true,
        credential: false,
        preserveArgv0: false,
      }),
    ).toBeNull();
  });
});
