'use client';
import type { Role } from '@binfleet/db';
import { useQuery } from '@tanstack/react-query';
import { createContext, useContext, useEffect } from 'react';
import { csrfStore } from '../trpc/csrf-store.ts';
import { useTRPC } from '../trpc/client.ts';

export interface SignedInUser {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
}

const ORDER: readonly Role[] = ['viewer', 'operator', 'admin'];

/** auth.me, keeping the CSRF store in step with the session it describes. */
export function useMe() {
  const trpc = useTRPC();
  const me = useQuery(
    trpc.auth.me.queryOptions(undefined, { staleTime: 60_000, refetchInterval: 5 * 60_000 }),
  );
  useEffect(() => {
    if (me.data) csrfStore.set(me.data.csrf);
  }, [me.data]);
  return me;
}

export const UserContext = createContext<SignedInUser | null>(null);

export function useUser(): SignedInUser {
  const user = useContext(UserContext);
  if (!user) throw new Error('useUser() outside the signed-in app frame');
  return user;
}

/** Whether the signed-in user has at least this role. The server enforces it; the UI only hides what would be refused. */
export function useCan(role: Role): boolean {
  return ORDER.indexOf(useUser().role) >= ORDER.indexOf(role);
}
