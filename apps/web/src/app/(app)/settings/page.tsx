import { Suspense } from 'react';
import { SettingsScreen } from '~/components/settings/settings-screen.tsx';
import { PageSkeleton } from '~/components/ui/states.tsx';

export const metadata = { title: 'Settings' };

export default function SettingsPage() {
  return (
    <Suspense fallback={<PageSkeleton />}>
      <SettingsScreen />
    </Suspense>
  );
}
