import { BuildsScreen } from '~/components/builds/builds-screen.tsx';

export const metadata = { title: 'Builds' };

export default function BuildsPage() {
  return <BuildsScreen />;
}
