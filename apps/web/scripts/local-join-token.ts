// Prints a single-use join token for the agent that scripts/setup.sh starts on this machine. It is
// made directly in the database (on a fresh install no admin exists yet) and recorded in the audit log.
import { readWebConfig } from '../src/server/env.ts';
import { createControlPlane } from '../src/server/services/control-plane.ts';

const cp = createControlPlane(readWebConfig());
const { token } = await cp.hosts.joinTokens.create(
  { id: null, name: 'setup.sh' },
  { label: 'local agent (setup.sh)', expiresInHours: 1, maxUses: 1 },
);
process.stdout.write(token + '\n');
await cp.db.$disconnect();
