/**
 * The least a Node process reached over HTTP can do for the agent's reset + register (bench/agent-register.ts):
 * a bare node:http server that, on each POST, removes every qemu-* entry of a binfmt_misc, writes the
 * given register lines into its `register` (one open, as the agent does), reads every entry back and
 * answers them as JSON, in tRPC's envelope (`{"result":{"data":{"entries":[...]}}}`) so that the agent's
 * own client calls it as it calls the agent. No input or output checks, no lock, no plan, no guard. A GET
 * answers `{"result":{"data":{}}}` with no kernel work: the transport alone.
 *   node kernel-floor-server.mjs MOUNT_POINT LINES_FILE
 * LINES_FILE holds the register lines, one a line (the agent's own systemd export: arch-table's lines).
 * Prints the port it listens on (127.0.0.1) and runs until killed.
 */
import { Buffer } from 'node:buffer';
import { closeSync, openSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';

const [mount, linesFile] = process.argv.slice(2);
if (!mount || !linesFile) {
  console.error('usage: node kernel-floor-server.mjs MOUNT_POINT LINES_FILE');
  process.exit(2);
}
const lines = readFileSync(linesFile, 'utf8')
  .split('\n')
  .filter((line) => line.startsWith(':'));
const buffer = Buffer.alloc(4096);

function write(path, text) {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

function read(path) {
  const fd = openSync(path, 'r');
  try {
    return buffer.toString('utf8', 0, readSync(fd, buffer, 0, buffer.length, 0));
  } finally {
    closeSync(fd);
  }
}

function resetAndRegister() {
  for (const name of readdirSync(mount)) if (name.startsWith('qemu-')) write(`${mount}/${name}`, '-1');
  const register = openSync(`${mount}/register`, 'w');
  try {
    for (const line of lines) writeSync(register, line);
  } finally {
    closeSync(register);
  }
  return readdirSync(mount)
    .filter((name) => name !== 'register' && name !== 'status')
    .map((name) => ({ name, text: read(`${mount}/${name}`) }));
}

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    let body;
    try {
      const data = req.method === 'POST' ? { entries: resetAndRegister() } : {};
      body = JSON.stringify({ result: { data } });
    } catch (error) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
