import { describe, expect, it } from 'vitest';
import {
  CONTRACT_VERSION,
  contractVersionOf,
  contractVersionProblem,
  OLDEST_SERVED_CONTRACT_VERSION,
  PROCEDURE_SINCE,
  procedureProblem,
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

describe('procedures newer than an agent', () => {
  it('refuses upgradeAgent to agents of contract 2 (and to those reporting none), with a plain reason', () => {
    expect(procedureProblem('upgradeAgent', 2)).toMatch(
      /contract version 2 and has no upgradeAgent \(contract 3 added it\): run the install line/,
    );
    expect(procedureProblem('upgradeAgent', undefined)).toMatch(/contract version 2/);
  });

  it('allows it from contract 3 on, and every procedure of contract 1 to any agent served', () => {
    expect(PROCEDURE_SINCE['upgradeAgent']).toBe(3);
    expect(procedureProblem('upgradeAgent', 3)).toBeUndefined();
    expect(procedureProblem('upgradeAgent', 4)).toBeUndefined();
    expect(procedureProblem('applyState', undefined)).toBeUndefined();
  });
});
