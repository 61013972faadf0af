import type { CommandIo } from './run-command.ts';

/** The CLI's output: this process's stdout and stderr, a line a call. */
export const stdio: CommandIo = {
  out: (line) => quietOnClosedPipe(process.stdout).write(line + '\n'),
  err: (line) => quietOnClosedPipe(process.stderr).write(line + '\n'),
};

/**
 * `binfleet-agent status | head` closes the pipe early: that is not an error. For every write to
 * stdout and stderr, not only stdio's (serve logs to stdout itself).
 */
export function exitQuietlyOnClosedPipe(): void {
  quietOnClosedPipe(process.stdout);
  quietOnClosedPipe(process.stderr);
}

const quiet = new WeakSet<NodeJS.WriteStream>();

/**
 * The stream, exiting quietly when its pipe is closed. stdio asks for a stream when it first writes
 * to it: a command that prints nothing on stderr never makes its stream (a socket or a tty, ~1 ms).
 */
function quietOnClosedPipe(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  if (!quiet.has(stream)) {
    quiet.add(stream);
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  return stream;
}
