export type ArchTableErrorCode =
  | 'UNKNOWN_ARCH'
  | 'UNKNOWN_HOST_ARCH'
  | 'INVALID_REGISTER_LINE'
  | 'INVALID_INTERPRETER'
  | 'INVALID_FLAGS'
  | 'INVALID_ENTRY_FILE'
  | 'INVALID_TAG'
  | 'INVALID_HOST_SET';

/** The one error type of this package; `code` is stable, `message` says what to do. */
export class ArchTableError extends Error {
  override readonly name = 'ArchTableError';
  constructor(
    readonly code: ArchTableErrorCode,
    message: string,
  ) {
    super(message);
  }
}
