import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readBuildInfo } from '@engex/workspace-config';
import { main } from './cli.js';
import { requestStop, runInterruptCleanups } from './lib/exit-cleanup.js';

// A cancelled Buildkite job gets SIGTERM (Ctrl-C locally, SIGINT): remove temp clones and kill git
// children before exiting with the conventional 128 + signal number.
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    // A server stops gracefully and `main` returns; `once` leaves a second signal to kill at once.
    if (requestStop()) return;
    runInterruptCleanups();
    process.exit(code);
  });
}

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
