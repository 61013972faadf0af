import type { Prisma } from './generated/sqlite/client.ts';

/**
 * A value for a Json column, handed to Prisma already serialized. Given a plain object, Prisma's
 * client walks it key by key to build its query (an argument context per key: ~3 ms for the 26 KB
 * answer of a reset + register, most of the database time of a job row; in proportion for an
 * agent's ~5 KB of facts on every heartbeat). An object with toJSON() is taken as the query's value
 * as it is, here Prisma's own tagged form of a JSON value (`{ $type: 'Json', value: <text> }`): the
 * text is stored and read back as the value, whatever keys it holds (a `$type` key in an agent's
 * facts stays data). Only for what JSON.stringify keeps as it is (what JSON.parse gives, or zod
 * parsed from it): no Dates, BigInts or undefined array items. client.integration.test.ts checks it
 * on both databases.
 */
export function jsonValue(value: unknown): Prisma.InputJsonValue {
  const tagged = { $type: 'Json', value: JSON.stringify(value) };
  return { toJSON: () => tagged } as unknown as Prisma.InputJsonValue;
}
