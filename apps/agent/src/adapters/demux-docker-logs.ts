/**
 * Splits the log stream of a container without a TTY. Docker frames each chunk as
 *   [stream: 1 stdout | 2 stderr, 0, 0, 0, length: uint32 big-endian] payload
 * (docker-modem's demuxStream does the same, but only on streams).
 */
export function demuxDockerLogs(frames: Uint8Array): { stdout: string; stderr: string } {
  const view = new DataView(frames.buffer, frames.byteOffset, frames.byteLength);
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  let offset = 0;
  while (offset + 8 <= frames.length) {
    const stream = frames[offset];
    const length = view.getUint32(offset + 4);
    const payload = frames.subarray(offset + 8, offset + 8 + length);
    (stream === 2 ? err : out).push(payload);
    offset += 8 + length;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
