import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

export interface PackageTransfer {
  /** The agent's base URL and API token. */
  readonly agentUrl: string;
  readonly token: string;
  readonly sha256: string;
  /** The file on this server and its size. */
  readonly path: string;
  readonly size: number;
  /** Bytes sent so far, as they go. */
  readonly onProgress?: (sent: number) => void;
}

/** How long a transfer may stall (nothing sent or received) before it is given up. */
const IDLE_MS = 60_000;

/**
 * Sends a package to an agent's `PUT /packages/<sha256>`, streamed from disk, unless the agent has
 * it already. Resolves with whether it was sent; rejects with the agent's own message otherwise.
 */
export async function sendPackageToAgent(transfer: PackageTransfer): Promise<'sent' | 'present'> {
  const url = new URL(`packages/${transfer.sha256}`, withSlash(transfer.agentUrl));
  const headers = { authorization: `Bearer ${transfer.token}` };
  const present = await request(url, { method: 'GET', headers });
  if (present.status === 200) return 'present';
  const answer = await request(
    url,
    {
      method: 'PUT',
      headers: {
        ...headers,
        'content-type': 'application/vnd.debian.binary-package',
        'content-length': String(transfer.size),
      },
    },
    transfer,
  );
  if (answer.status === 200 || answer.status === 201) return 'sent';
  throw new Error(`The builder refused the package (HTTP ${answer.status}): ${answer.error}`);
}

const withSlash = (url: string) => (url.endsWith('/') ? url : `${url}/`);

function request(
  url: URL,
  options: http.RequestOptions,
  body?: PackageTransfer,
): Promise<{ status: number; error: string }> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(url, { ...options, timeout: IDLE_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let error = text.slice(0, 500);
        try {
          error = (JSON.parse(text) as { error?: string }).error ?? error;
        } catch {
          // not JSON: the text as is
        }
        resolve({ status: res.statusCode ?? 0, error });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no progress for ${IDLE_MS / 1000} s`)));
    req.on('error', (error) =>
      reject(new Error(`The builder at ${url.origin} is unreachable (${error.message}): check its agent.`)),
    );
    if (!body) return void req.end();
    let sent = 0;
    const file = createReadStream(body.path);
    file.on('data', (chunk) => {
      sent += chunk.length;
      body.onProgress?.(sent);
    });
    file.on('error', (error) => req.destroy(error));
    file.pipe(req);
  });
}
