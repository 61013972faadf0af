import superjson, { type SuperJSONResult } from 'superjson';

/**
 * The tRPC answers' serializer: superjson's wire format (clients deserialize with superjson), made
 * without superjson's walk for the data the control plane returns, which is JSON with Dates in it.
 * superjson copies every node and builds a path array per node; on the fleet page's batched request
 * that walk was a sixth of the server's CPU (docs/operations.md). Here the value is only read: the
 * tree itself goes out as `json` (JSON.stringify writes a Date as its toISOString(), which is what
 * superjson puts there), and a path is spelled only for a Date or an `undefined`, with superjson's
 * own escaping. Anything else superjson has a rule for (Map, Set, bigint, NaN, -0, class instances,
 * errors, symbols, a cycle or very deep nesting, keys superjson refuses) hands the whole value to
 * superjson, so the answer a client gets is the one superjson would have given. One difference:
 * an object reachable twice arrives as two equal copies (superjson would also send
 * `referentialEqualities` to make them one); JSON has no identity, and no answer relies on it.
 */
export function serializeAnswer(value: unknown): SuperJSONResult {
  if (typeof value !== 'object' || value === null || value instanceof Date) return superjson.serialize(value);
  const values: Record<string, ['Date' | 'undefined']> = {};
  const path: (string | number)[] = [];
  let annotated = false;
  const annotate = (type: 'Date' | 'undefined') => {
    values[path.map((s) => escapeKey(String(s))).join('.')] = [type];
    annotated = true;
  };
  // false: something only superjson serializes.
  const walk = (node: unknown, depth: number): boolean => {
    switch (typeof node) {
      case 'string':
      case 'boolean':
        return true;
      case 'number':
        return Number.isFinite(node) && !(node === 0 && 1 / node < 0);
      case 'undefined':
        annotate('undefined');
        return true;
      case 'object':
        break;
      default:
        return false;
    }
    if (node === null) return true;
    if (depth > MAX_DEPTH) return false;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        path.push(i);
        const ok = walk(node[i], depth + 1);
        path.pop();
        if (!ok) return false;
      }
      return true;
    }
    const proto = Object.getPrototypeOf(node) as unknown;
    if (proto === Date.prototype) {
      if (Number.isNaN((node as Date).getTime())) return false;
      annotate('Date');
      return true;
    }
    if (proto !== Object.prototype && proto !== null) return false;
    for (const key in node) {
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') return false;
      path.push(key);
      const ok = walk((node as Record<string, unknown>)[key], depth + 1);
      path.pop();
      if (!ok) return false;
    }
    return true;
  };
  if (!walk(value, 0)) return superjson.serialize(value);
  return annotated
    ? { json: value as SuperJSONResult['json'], meta: { values, v: 1 } }
    : { json: value as SuperJSONResult['json'] };
}

/** Deeper than any answer the control plane builds: a cycle, or something to leave to superjson. */
const MAX_DEPTH = 64;

/** superjson's path segment escaping (pathstringifier.ts): backslash, then dot. */
function escapeKey(key: string): string {
  return key.replace(/\\/g, '\\\\').replace(/\./g, '\\.');
}

/** The transformer of the control plane's tRPC: answers as above, inputs through superjson itself. */
export const wireTransformer = {
  serialize: serializeAnswer,
  deserialize: (value: unknown): unknown => superjson.deserialize(value as SuperJSONResult),
};
