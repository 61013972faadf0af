/** Starts the control plane (migrations, first admin, job runner) when the server starts, not on the first request. */
export async function register() {
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    const { controlPlane } = await import('./server/instance.ts');
    await controlPlane();
  }
}
