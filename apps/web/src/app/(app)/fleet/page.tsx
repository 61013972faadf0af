import { Suspense } from 'react';
import { FleetScreen } from '~/components/fleet/fleet-screen.tsx';
import { PageSkeleton } from '~/components/ui/states.tsx';

export const metadata = { title: 'Fleet' };

export default function FleetPage() {
  return (
    <Suspense fallback={<PageSkeleton />}>
      <FleetScreen />
    </Suspense>
  );
}
