'use client';
import { MantineProvider } from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import { QueryClientProvider } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { z } from 'zod';
import { cssVariablesResolver, theme, THEME_CSS_VARIABLES } from './theme.ts';
import { makeQueryClient, makeTrpcClient, TRPCProvider } from './trpc/client.ts';

// The CSP allows no eval: zod must not even probe for it (its probe, `Function("")`, is a violation).
z.config({ jitless: true });

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(() => {
    // A 401 from any query means the session ended: asking auth.me again sends the user to sign in.
    const client = makeQueryClient(() => void client.invalidateQueries({ queryKey: [['auth', 'me']] }));
    return client;
  });
  const [trpcClient] = useState(makeTrpcClient);
  return (
    <MantineProvider
      theme={theme}
      cssVariablesResolver={cssVariablesResolver}
      defaultColorScheme="auto"
      withCssVariables={false}
    >
      {/* What withCssVariables would write, worked out once (theme.ts). */}
      <style data-mantine-styles dangerouslySetInnerHTML={{ __html: THEME_CSS_VARIABLES }} />
      <Notifications position="top-right" />
      <QueryClientProvider client={queryClient}>
        <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
          {children}
        </TRPCProvider>
      </QueryClientProvider>
    </MantineProvider>
  );
}
