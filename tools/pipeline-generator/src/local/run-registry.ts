import { join } from 'node:path';
import { startLocalRegistry } from '@engex/ci-lib';
import { LocalSetupError, registryAnswers } from './preflight.js';

/**
 * The registry that stands in for ECR: `REGISTRY=host:port` when given (it must answer), else
 * Debian's docker-registry started on a free port, whose stop is pushed onto `stops`.
 */
export async function startRunRegistry(
  env: Readonly<Record<string, string | undefined>>,
  state: string,
  say: (line: string) => void,
  stops: (() => Promise<void>)[],
): Promise<string> {
  const given = env['REGISTRY'];
  if (given) {
    if (!(await registryAnswers(given))) {
      throw new LocalSetupError(
        `REGISTRY=${given} does not answer http://${given}/v2/. Start a registry there, or unset REGISTRY ` +
          "to let the local run start Debian's docker-registry (`apt-get install docker-registry`) on a free port.",
      );
    }
    say(`Registry ${given} (from REGISTRY)`);
    return given;
  }
  try {
    const started = await startLocalRegistry({ storageDir: join(state, 'registry') });
    stops.push(() => started.stop());
    say(`Registry ${started.host} started (docker-registry, storage ${started.storageDir}); stopped when the run ends`);
    return started.host;
  } catch (error) {
    throw new LocalSetupError(
      `Could not start a local registry: ${(error as Error).message}\n` +
        "Install Debian's registry (`apt-get install docker-registry`, binary /usr/bin/docker-registry), " +
        'or run any OCI registry and pass REGISTRY=host:port.',
      { cause: error },
    );
  }
}
