import { describe, expect, it } from 'vitest';
import { demuxDockerLogs } from './demux-docker-logs.ts';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('demuxDockerLogs', () => {
  it('splits interleaved stdout and stderr frames', () => {
    const logs = Buffer.concat([frame(1, 'aarch'), frame(2, 'warning\n'), frame(1, '64\n')]);
    expect(demuxDockerLogs(logs)).toEqual({ stdout: 'aarch64\n', stderr: 'warning\n' });
  });

  it('reads a frame that sits inside a larger buffer', () => {
    const backing = Buffer.concat([Buffer.from('xxxx'), frame(1, 'ok')]);
    expect(demuxDockerLogs(backing.subarray(4))).toEqual({ stdout: 'ok', stderr: '' });
  });

  it('gives empty output for no logs', () => {
    expect(demuxDockerLogs(Buffer.alloc(0))).toEqual({ stdout: '', stderr: '' });
  });
});
