import { JobsScreen } from '~/components/jobs/jobs-screen.tsx';

export const metadata = { title: 'Jobs' };

export default function JobsPage() {
  return <JobsScreen />;
}
