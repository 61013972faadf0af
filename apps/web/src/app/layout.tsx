import '@mantine/core/styles.css';
import '@mantine/charts/styles.css';
import '@mantine/notifications/styles.css';
import './globals.css';
import { ColorSchemeScript, mantineHtmlProps } from '@mantine/core';
import type { Metadata } from 'next';
import { headers } from 'next/headers';
import type { ReactNode } from 'react';
import { Providers } from '~/components/providers.tsx';
import { NONCE_HEADER } from '~/shared/security-headers.ts';

export const metadata: Metadata = {
  title: { default: 'binfleet', template: '%s · binfleet' },
  description: 'QEMU binfmt_misc registrations across your fleet',
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  // proxy.ts makes one per request; Next puts it on its own scripts, this on Mantine's.
  const nonce = (await headers()).get(NONCE_HEADER) ?? undefined;
  return (
    <html lang="en" {...mantineHtmlProps}>
      <head>
        {/* Sets the scheme (the one saved in the browser, else the system's) before the first paint. */}
        <ColorSchemeScript defaultColorScheme="auto" nonce={nonce} />
      </head>
      <body>
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
