import { HostScreen } from '~/components/hosts/host-screen.tsx';

export const metadata = { title: 'Host' };

export default function HostPage() {
  return <HostScreen />;
}
