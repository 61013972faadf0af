import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTRACT_VERSION, heartbeatInputSchema } from '@binfleet/agent-contract';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { FileStateStore } from '../adapters/file-state-store.ts';
import type { AgentService } from '../services/agent-service.ts';
import { FleetLink } from './fleet-link.ts';

// Contract 1 as the control plane of the previous release parsed it (its routers/agent-api.ts), frozen
// here: strict objects, so any field it did not know was refused. A control plane one version behind
// must still take this agent's join and heartbeats (a fleet upgrades its agents first, or its server).
const v1Entry = z.object({
  name: z.string().max(64),
  enabled: z.boolean(),
  interpreter: z.string().max(256),
  flags: z.string().max(4),
  type: z.literal('M'),
  offset: z.number().int().min(0).max(256),
  magic: z.string().max(512),
  mask: z.string().max(512).optional(),
});
const v1Report = {
  hostname: z.string().min(1).max(253),
  arch: z.string().max(32).optional(),
  kernel: z.string().max(128).optional(),
  dockerVersion: z.string().max(64).optional(),
  facts: z.record(z.string(), z.unknown()),
  entries: z.array(v1Entry).max(512),
  entriesAgeMs: z.number().int().min(0).max(3_600_000).default(0),
  reconcileError: z
    .strictObject({ message: z.string().max(2000), ageMs: z.number().int().min(0) })
    .nullable()
    .optional(),
};
const v1Join = z.strictObject({
  joinToken: z.string().min(1).max(128),
  agentId: z.string().regex(/^[A-Za-z0-9-]{8,64}$/),
  agentUrl: z.url({ protocol: /^https?$/ }).max(512),
  heartbeatToken: z.string().min(1).max(128).optional(),
  ...v1Report,
});
const v1Heartbeat = z.strictObject({ ...v1Report, agentUrl: z.string().min(1).max(512).optional() });

interface Received {
  readonly procedure: string;
  readonly input: unknown;
  readonly refused?: string;
}

/** A contract 1 control plane: parses join and heartbeat strictly and answers as it did (no contractVersion). */
async function contractOneControlPlane(received: Received[]): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const procedure = req.url!.replace(/^\/api\/trpc\/agentApi\./, '');
      const input = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { json: unknown }).json;
      const parsed = (procedure === 'join' ? v1Join : v1Heartbeat).safeParse(input);
      received.push({ procedure, input, ...(parsed.success ? {} : { refused: parsed.error.message }) });
      if (!parsed.success) {
        res.writeHead(400, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify({ error: { json: { message: 'Invalid input', data: { httpStatus: 400 } } } }),
        );
      }
      const answer =
        procedure === 'join'
          ? {
              hostId: 'host-1',
              agentToken: 'agent-token-0123456789abcdef',
              heartbeatToken: 'beat-token-0123456789abcdef',
              heartbeatIntervalMs: 60_000,
            }
          : { ok: true, heartbeatIntervalMs: 60_000, healJob: null };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ result: { data: { json: answer } } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** The agent as far as its fleet link sees it: facts, entries and the reconciler, as this release reports them. */
const agent = {
  heartbeat: async () => ({
    facts: {
      hostname: 'build-07',
      machine: 'x86_64',
      kernelRelease: '6.1.0',
      agentVersion: '0.1.0',
      contractVersion: CONTRACT_VERSION,
      docker: { reachable: false },
    },
    binfmt: {
      entries: [
        {
          entry: {
            name: 'qemu-aarch64',
            enabled: true,
            interpreter: '/usr/bin/qemu-aarch64-static',
            flags: 'F',
            type: 'M',
            offset: 0,
            magic: '7f454c46',
          },
        },
      ],
    },
    reconciler: { lastError: null },
  }),
} as unknown as AgentService;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A FleetLink of `of`, beating every `intervalMs`, with a state directory of its own; both go after the test. */
async function newLink(of: AgentService, intervalMs: number, logs: unknown[] = []) {
  const dir = await mkdtemp(join(tmpdir(), 'binfleet-fleet-link-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const link = new FleetLink(of, new FileStateStore(dir), {
    advertiseUrl: 'http://10.0.0.7:7475',
    transport: 'direct',
    intervalMs,
    log: (r) => logs.push(r),
    adoptApiToken: () => Promise.reject(new Error('no credential rotation in these tests')),
  });
  cleanups.push(async () => link.stop());
  return link;
}

/** A FleetLink (beating every minute) to a contract 1 control plane; both go after the test. */
async function linkToContractOne() {
  const received: Received[] = [];
  const { url, server } = await contractOneControlPlane(received);
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  const logs: unknown[] = [];
  const link = await newLink(agent, 60_000, logs);
  return { link, received, url, logs };
}

describe('FleetLink against a control plane one contract version behind', () => {
  it('joins and heartbeats: everything this agent sends passes contract 1 strict parsing', async () => {
    const { link, received, url, logs } = await linkToContractOne();

    expect(await link.join(url, 'bfj_token')).toBe('agent-token-0123456789abcdef');
    expect(await link.start()).toBe(true);

    expect(received.map((r) => [r.procedure, r.refused])).toEqual([
      ['join', undefined],
      ['heartbeat', undefined],
    ]);
    // The versions travel in the facts, which contract 1 kept as they came.
    expect(received[1]!.input).toMatchObject({
      facts: { contractVersion: CONTRACT_VERSION, agentVersion: '0.1.0' },
    });
    expect(logs).not.toContainEqual(expect.objectContaining({ event: 'heartbeat-failed' }));
  });

  it('sends the next heartbeat at once when asked (beatSoon), not after the interval', async () => {
    const { link, received, url } = await linkToContractOne();
    // Asked before the link beats at all: the first beat is that one.
    link.beatSoon();
    await link.join(url, 'bfj_token');
    await link.start();
    expect(received.map((r) => r.procedure)).toEqual(['join', 'heartbeat']);

    // The next one is due in a minute; asked for, it goes now.
    link.beatSoon();
    await vi.waitFor(() =>
      expect(received.map((r) => r.procedure)).toEqual(['join', 'heartbeat', 'heartbeat']),
    );
    // And once: the one after waits for the interval again.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).toHaveLength(3);
  });
});

/**
 * A control plane that answers `held` (digests of the facts and entries it took) and answers `resend`
 * to a heartbeat naming digests other than the ones it holds, as the real one does; `forget()` drops
 * what it holds (a restart on an older database), `rollBack()` makes it one of contract 1 (refusing
 * heartbeats without facts and entries, answering no digests).
 */
async function digestControlPlane() {
  const received: Record<string, unknown>[] = [];
  let holds: { facts?: string; entries?: string } = {};
  let old = false;
  const digest = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const procedure = req.url!.replace(/^\/api\/trpc\/agentApi\./, '');
      const input = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { json: Record<string, unknown> })
        .json;
      let answer: Record<string, unknown>;
      if (procedure === 'join') {
        received.push({ procedure, ...input });
        answer = {
          hostId: 'host-1',
          agentToken: 'agent-token-0123456789abcdef',
          heartbeatToken: 'beat-token-0123456789abcdef',
          heartbeatIntervalMs: 60_000,
        };
      } else if (old) {
        const refused = !v1Heartbeat.safeParse(input).success;
        received.push({ procedure, ...input, ...(refused ? { refused } : {}) });
        res.writeHead(refused ? 400 : 200, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify(
            refused
              ? { error: { json: { message: 'Invalid input', data: { httpStatus: 400 } } } }
              : { result: { data: { json: { ok: true, heartbeatIntervalMs: 60_000 } } } },
          ),
        );
      } else {
        const parsed = heartbeatInputSchema.parse(input);
        received.push({ procedure, ...input });
        const named = parsed.unchanged ?? {};
        if (
          (named.facts !== undefined && named.facts !== holds.facts) ||
          (named.entries !== undefined && named.entries !== holds.entries)
        ) {
          answer = { ok: true, heartbeatIntervalMs: 60_000, resend: true };
        } else {
          holds = {
            facts: parsed.facts === undefined ? named.facts : digest(parsed.facts),
            entries: parsed.entries === undefined ? named.entries : digest(parsed.entries),
          };
          answer = { ok: true, heartbeatIntervalMs: 60_000, held: holds };
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ result: { data: { json: answer } } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    forget: () => (holds = {}),
    rollBack: () => (old = true),
  };
}

describe('FleetLink heartbeats name unchanged facts and entries by the digests the control plane answered', () => {
  it('sends them in full first, then by digest while the same, in full again when they change or the control plane holds others', async () => {
    const plane = await digestControlPlane();
    let enabled = true;
    const changing = {
      heartbeat: async () => {
        const beat = await agent.heartbeat();
        const entry = beat.binfmt.entries[0]!.entry;
        return { ...beat, binfmt: { entries: [{ entry: { ...entry, enabled } }] } };
      },
    } as unknown as AgentService;
    const link = await newLink(changing, 60_000);
    await link.join(plane.url, 'bfj_token');
    await link.start();
    const beats = () => plane.received.filter((r) => r.procedure === 'heartbeat');
    const beatNow = async (n: number) => {
      link.beatSoon();
      await vi.waitFor(() => expect(beats()).toHaveLength(n));
    };
    const shape = (b: Record<string, unknown>) => ({
      facts: 'facts' in b,
      entries: 'entries' in b,
      unchanged: Object.keys((b.unchanged as object | undefined) ?? {}),
    });

    await beatNow(2);
    await beatNow(3);
    enabled = false;
    await beatNow(4);
    plane.forget();
    // Named by digests the control plane no longer holds: answered `resend`, sent in full at once.
    await beatNow(6);

    expect(beats().map(shape)).toEqual([
      { facts: true, entries: true, unchanged: [] },
      { facts: false, entries: false, unchanged: ['facts', 'entries'] },
      { facts: false, entries: false, unchanged: ['facts', 'entries'] },
      { facts: false, entries: true, unchanged: ['facts'] },
      { facts: false, entries: false, unchanged: ['facts', 'entries'] },
      { facts: true, entries: true, unchanged: [] },
    ]);
    expect((beats()[3]!.entries as { enabled: boolean }[])[0]!.enabled).toBe(false);
    // Nothing but the resend went early: the one after waits for the interval.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(beats()).toHaveLength(6);
  });

  it('sends them in full on every heartbeat to a control plane that answers no digests', async () => {
    const { link, received, url } = await linkToContractOne();
    await link.join(url, 'bfj_token');
    await link.start();
    for (const n of [3, 4]) {
      link.beatSoon();
      await vi.waitFor(() => expect(received).toHaveLength(n));
    }
    expect(received.map((r) => [r.procedure, r.refused])).toEqual([
      ['join', undefined],
      ['heartbeat', undefined],
      ['heartbeat', undefined],
      ['heartbeat', undefined],
    ]);
    for (const beat of received.slice(1)) expect(beat.input).toHaveProperty('entries');
  });

  it('sends them in full again after a heartbeat failed (a control plane rolled back to one without digests)', async () => {
    const plane = await digestControlPlane();
    // Beating every 30 ms: after a failure the next beat is not asked for, it comes with the backoff.
    const link = await newLink(agent, 30);
    await link.join(plane.url, 'bfj_token');
    await link.start();
    const beats = () => plane.received.filter((r) => r.procedure === 'heartbeat');
    await vi.waitFor(() => expect(beats().length).toBeGreaterThanOrEqual(2));
    expect(beats()[1]).toHaveProperty('unchanged');
    plane.rollBack();
    const from = beats().length;
    await vi.waitFor(() => expect(beats().length).toBeGreaterThanOrEqual(from + 3), { timeout: 5_000 });
    link.stop();
    const after = beats().slice(from);
    // The first one after, naming digests, is refused; every one after it goes in full and is taken.
    expect(after.map((b) => b.refused === true)).toEqual([true, ...after.slice(1).map(() => false)]);
    const taken = after.slice(1);
    for (const b of taken) {
      expect(b.refused).toBeUndefined();
      expect(b).toHaveProperty('facts');
      expect(b).not.toHaveProperty('unchanged');
    }
  });
});
