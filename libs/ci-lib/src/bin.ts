import { main } from './cli.js';

// The bundle's entry (dist/engex-ci.cjs): real process I/O around `main`.
void main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  now: () => new Date(),
}).then((code) => {
  process.exitCode = code;
});
