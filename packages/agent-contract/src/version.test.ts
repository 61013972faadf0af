import { describe, expect, it } from 'vitest';
import {
  CONTRACT_VERSION,
  contractVersionOf,
  contractVersionProblem,
  OLDEST_SERVED_CONTRACT_VERSION,
} from './version.ts';

describe('contract versions', () => {
  it('serves agents of this version and the one before, and newer ones', () => {
    expect(OLDEST_SERVED_CONTRACT_VERSION).toBe(CONTRACT_VERSION - 1);
    for (const version of [CONTRACT_VERSION - 1, CONTRACT_VERSION, CONTRACT_VERSION + 1])
      expect(contractVersionProblem(version)).toBeUndefined();
  });

  it('counts an agent that reports no version as the oldest one served', () => {
    expect(contractVersionOf(undefined)).toBe(OLDEST_SERVED_CONTRACT_VERSION);
    expect(contractVersionProblem(undefined)).toBeUndefined();
  });

  it('refuses agents two versions behind, saying to upgrade the agent', () => {
    expect(contractVersionProblem(CONTRACT_VERSION - 2)).toMatch(
      new RegExp(`contract version ${CONTRACT_VERSION - 2}.*upgrade binfleet-agent`),
    );
  });
});
