import { AuditScreen } from '~/components/audit/audit-screen.tsx';

export const metadata = { title: 'Audit log' };

export default function AuditPage() {
  return <AuditScreen />;
}
