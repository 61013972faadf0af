import { PolicyScreen } from '~/components/policy/policy-screen.tsx';

export const metadata = { title: 'Policy' };

export default function PolicyPage() {
  return <PolicyScreen />;
}
