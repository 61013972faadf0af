import { EventEmitter } from 'node:events';
import pg from 'pg';
import { databaseProvider, resolveDatabaseUrl } from './database-url.ts';

/**
 * Wakes whoever waits on a topic (a host's channel, a call's caller) when the database changed for
 * it: they then read the database, which stays the truth. On SQLite the server is one process, so an
 * EventEmitter is enough; on PostgreSQL, LISTEN/NOTIFY, so that a replica wakes a waiter held by
 * another one. No timer polling either way.
 */
export interface Wakeups {
  /** Wakes every waiter on `topic`, in this process and (PostgreSQL) in every other replica. */
  wake(topic: string): Promise<void>;
  /** Calls `listener` on every wake of `topic` until the returned function is called. */
  on(topic: string, listener: () => void): () => void;
  close(): Promise<void>;
}

const PG_CHANNEL = 'binfleet_wake';
/** Topics wake every listener when the connection to PostgreSQL was lost: a missed NOTIFY is caught up. */
const ALL = '*';

export function createWakeups(url: string): Wakeups {
  const resolved = resolveDatabaseUrl(url);
  return databaseProvider(resolved) === 'sqlite' ? new LocalWakeups() : new PostgresWakeups(resolved);
}

class LocalWakeups implements Wakeups {
  protected readonly emitter = new EventEmitter().setMaxListeners(0);

  async wake(topic: string): Promise<void> {
    this.emitter.emit(topic);
  }

  on(topic: string, listener: () => void): () => void {
    this.emitter.on(topic, listener);
    this.emitter.on(ALL, listener);
    return () => {
      this.emitter.off(topic, listener);
      this.emitter.off(ALL, listener);
    };
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

/** One listening connection per process; NOTIFY comes back to it too, so local waiters wake the same way. */
class PostgresWakeups extends LocalWakeups {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private closed = false;

  constructor(private readonly url: string) {
    super();
    this.connect().catch(() => this.reconnect());
  }

  override async wake(topic: string): Promise<void> {
    const client = await this.connect();
    await client.query('SELECT pg_notify($1, $2)', [PG_CHANNEL, topic]);
  }

  override async close(): Promise<void> {
    this.closed = true;
    await super.close();
    await this.client?.end().catch(() => undefined);
  }

  private connect(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const schema = new URL(this.url).searchParams.get('schema');
      const client = new pg.Client({ connectionString: this.url });
      client.on('notification', (message) => {
        if (message.channel === PG_CHANNEL && message.payload) this.emitter.emit(message.payload);
      });
      client.on('error', () => this.lost(client));
      client.on('end', () => this.lost(client));
      try {
        await client.connect();
        if (schema) await client.query(`SET search_path TO ${pg.escapeIdentifier(schema)}`);
        await client.query(`LISTEN ${PG_CHANNEL}`);
      } catch (error) {
        this.connecting = undefined;
        await client.end().catch(() => undefined);
        throw error;
      }
      this.client = client;
      this.connecting = undefined;
      return client;
    })();
    return this.connecting;
  }

  /** The connection is gone: connect again and wake everyone, who read the database for what they missed. */
  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.reconnect();
  }

  private reconnect(): void {
    if (this.closed) return;
    setTimeout(() => {
      if (this.closed) return;
      this.connect()
        .then(() => this.emitter.emit(ALL))
        .catch(() => this.reconnect());
    }, 1000).unref();
  }
}
