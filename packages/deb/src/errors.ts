export type DebErrorCode = 'INVALID_INPUT' | 'INVALID_PACKAGE' | 'TOO_LARGE';

/** The one error type of this package; `code` is stable, `message` says what to do. */
export class DebError extends Error {
  override readonly name = 'DebError';
  constructor(
    readonly code: DebErrorCode,
    message: string,
  ) {
    super(message);
  }
}
