import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readBuildInfo } from '@engex/workspace-config';
import { main } from './cli.js';
import { installSignalHandlers } from './lib/exit-cleanup.js';

// A cancelled Buildkite job gets SIGTERM (Ctrl-C locally, SIGINT): remove temp clones and smoke
// containers and kill git children before exiting with 128 + the signal number; a server stops
// gracefully first, and a second signal cleans up and exits at once.
installSignalHandlers(process);

// The bundle's entry (dist/engex-ci.cjs): real process I/O around `main`.
void main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  now: () => new Date(),
  // The script (dist/engex-ci.cjs, the bin/ shim, or src/bin.ts under tsx) sits one folder below its
  // package; realpath because npm's .bin entry is a symlink.
  build: () => readBuildInfo('engex-ci', join(dirname(realpathSync(process.argv[1]!)), '..')),
}).then((code) => {
  process.exitCode = code;
});
