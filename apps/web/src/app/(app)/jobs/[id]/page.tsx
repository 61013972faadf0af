import { JobScreen } from '~/components/jobs/job-screen.tsx';

export const metadata = { title: 'Job' };

export default function JobPage() {
  return <JobScreen />;
}
