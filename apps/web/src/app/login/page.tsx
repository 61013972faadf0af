import { Suspense } from 'react';
import { LoginScreen } from '~/components/auth/login-screen.tsx';

export const metadata = { title: 'Sign in' };

export default function LoginPage() {
  return (
    <Suspense>
      <LoginScreen />
    </Suspense>
  );
}
