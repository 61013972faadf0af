import { BuildScreen } from '~/components/builds/build-screen.tsx';

export const metadata = { title: 'Build' };

export default function BuildPage() {
  return <BuildScreen />;
}
