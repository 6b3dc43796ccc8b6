import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readBuildInfo } from '@engex/workspace-config';
import { main } from './cli.js';

// The bundle's entry (dist/engex-pipeline.cjs): real process I/O around `main`. stdout carries
// only the pipeline, so whatever else writes to process.stdout (Nx and its plugins while the
// project graph is built) goes to stderr; `main` writes the pipeline through the saved writer.
const stdout = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

void main(process.argv.slice(2), {
  stdout: (text) => void stdout(text),
  stderr: (text) => void process.stderr.write(text),
  stderrStream: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  now: () => new Date(),
  // The script (dist/engex-pipeline.cjs, the bin/ shim, or src/bin.ts under tsx) sits one folder below its
  // package; realpath because npm's .bin entry is a symlink.
  build: () => readBuildInfo('engex-pipeline', join(dirname(realpathSync(process.argv[1]!)), '..')),
}).then((code) => {
  process.exitCode = code;
});
