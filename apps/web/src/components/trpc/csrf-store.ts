import type { CSRF_HEADER as ServerCsrfHeader } from '~/server/trpc.ts';

/** The header the server checks on mutations; typed against the server's constant so they cannot drift apart. */
export const CSRF_HEADER: typeof ServerCsrfHeader = 'x-binfleet-csrf';

// Sign-in and setup need the header with any value (it proves a same-origin request); signed-in
// mutations need the session's secret from auth.me.
const SIGNED_OUT = 'signed-out';

let current: string | null = null;

export const csrfStore = {
  get: (): string => current ?? SIGNED_OUT,
  set: (csrf: string | null): void => {
    current = csrf;
  },
};
