import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { serializeAnswer } from './wire-serializer.ts';

/** What a client gets: superjson's deserialize over the JSON text that goes on the wire. */
const received = (result: unknown) => superjson.deserialize(JSON.parse(JSON.stringify(result)));

describe('serializeAnswer', () => {
  it('gives a superjson client the same Dates, keys and undefineds as superjson itself', () => {
    const value = {
      id: 'h1',
      lastSeenAt: new Date('2026-12-05T04:00:00.123Z'),
      reach: { reachable: null, error: 'refused', at: new Date(0) },
      cells: { aarch64: { state: 'registered', verify: 'passed' }, riscv64: { state: 'missing' } },
      'dotted.key': { 'back\\slash': new Date('2026-01-01T00:00:00Z') },
      list: [new Date('2026-02-02T00:00:00Z'), undefined, null, 1.5, '', [true, new Date(5)]],
      optional: undefined,
      empty: {},
      bare: Object.assign(Object.create(null) as object, { at: new Date(7) }),
    };
    const result = serializeAnswer(value);
    // Its own path, not superjson's: the answer goes out as it is (superjson would have copied it).
    expect(result.json).toBe(value);
    expect(received(result)).toStrictEqual(received(superjson.serialize(value)));
    // (toEqual: the null-prototype object arrives as a plain one, from superjson too.)
    expect(received(result)).toEqual(value);
    // Only the values superjson annotates are spelled out, with its escaping.
    expect(Object.keys(result.meta?.values ?? {}).sort()).toEqual(
      [
        'lastSeenAt',
        'reach.at',
        'dotted\\.key.back\\\\slash',
        'list.0',
        'list.1',
        'list.5.1',
        'optional',
        'bare.at',
      ].sort(),
    );
  });

  it('writes the very JSON text superjson writes when nothing in the answer is undefined', () => {
    const value = {
      total: 2,
      items: [
        { id: 'a', at: new Date('2026-12-05T01:02:03Z'), tags: ['x', 'y'], n: -3.25 },
        { id: 'b', at: null, tags: [], nested: { deep: [{ when: new Date(1) }] } },
      ],
    };
    expect(JSON.parse(JSON.stringify(serializeAnswer(value)))).toEqual(
      JSON.parse(JSON.stringify(superjson.serialize(value))),
    );
  });

  it('sends plain JSON without meta, as superjson does', () => {
    const value = { a: [1, 'two', { three: false }], b: null };
    expect(serializeAnswer(value)).toEqual({ json: value });
    expect(superjson.serialize(value)).toEqual({ json: value });
  });

  it('leaves everything else superjson has a rule for to superjson', () => {
    class Thing {
      constructor(readonly x: number) {}
    }
    const cycle: Record<string, unknown> = { name: 'loop' };
    cycle.self = cycle;
    let deep: Record<string, unknown> = { leaf: new Date(3) };
    for (let i = 0; i < 100; i++) deep = { next: deep };
    const cases: Record<string, unknown> = {
      map: { m: new Map([['k', new Date(1)]]) },
      set: { s: new Set([1, 2]) },
      bigint: { n: 12n },
      nan: { n: Number.NaN },
      infinity: [Number.POSITIVE_INFINITY],
      negativeZero: { z: -0 },
      invalidDate: { d: new Date(Number.NaN) },
      error: { e: new Error('boom') },
      regexp: { r: /a.b/g },
      classInstance: { t: new Thing(1) },
      rootDate: new Date(9),
      rootString: 'text',
      rootUndefined: undefined,
      cycle,
      deep,
    };
    for (const [name, value] of Object.entries(cases)) {
      const result = serializeAnswer(value);
      expect(result, name).toEqual(superjson.serialize(value));
      // superjson's copy, not the value itself with annotations that would be missing.
      if (typeof value === 'object' && value !== null && !(value instanceof Date))
        expect(result.json, name).not.toBe(value);
    }
  });

  it('refuses a __proto__ key as superjson does, rather than sending it', () => {
    const value = JSON.parse('{"facts": {"__proto__": {"polluted": true}}}') as unknown;
    expect(() => superjson.serialize(value)).toThrow(/prototype pollution/);
    expect(() => serializeAnswer(value)).toThrow(/prototype pollution/);
  });

  it('matches superjson over random answers', () => {
    // A seeded generator of trees of what answers are made of.
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const keys = ['a', 'b.c', 'd\\e', '0', 'x y', 'état', ''];
    const tree = (depth: number): unknown => {
      const r = rand();
      if (depth > 4 || r < 0.3)
        return [null, true, 'text', 7, -1.5, new Date(Math.floor(rand() * 1e12)), undefined][
          Math.floor(rand() * 7)
        ];
      if (r < 0.6) return Array.from({ length: Math.floor(rand() * 4) }, () => tree(depth + 1));
      return Object.fromEntries(keys.filter(() => rand() < 0.5).map((k) => [k, tree(depth + 1)]));
    };
    for (let i = 0; i < 300; i++) {
      const value = { root: tree(0) };
      expect(received(serializeAnswer(value))).toStrictEqual(received(superjson.serialize(value)));
    }
  });
});
