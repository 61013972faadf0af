/**
 * dockerode as the agent's snapshot script sees it (scripts/bundling.ts resolves its imports here): it
 * stays outside every bundle (CommonJS with optional native parts), and the snapshot's own require
 * serves Node's built-in modules only. It loads at first use from beside the bundle, as the bundle's
 * `import('dockerode')` does: the launcher passes the bundle's path as process.argv[1].
 */
import type DockerType from 'dockerode';
import { createRequire } from 'node:module';

let loaded: typeof DockerType | undefined;

function dockerode(): typeof DockerType {
  return (loaded ??= createRequire(process.argv[1]!)('dockerode') as typeof DockerType);
}

/** `new Docker(options)` makes dockerode's own client (a constructor that returns an object gives it). */
function Docker(...args: ConstructorParameters<typeof DockerType>): DockerType {
  return new (dockerode())(...args);
}

export default Docker as unknown as typeof DockerType;
