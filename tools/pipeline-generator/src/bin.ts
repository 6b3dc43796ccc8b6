import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readBuildInfo } from '@engex/workspace-config';

// The bundle's entry (dist/engex-pipeline.cjs): real process I/O around `main`. Modules load
// lazily: `__buildkite-agent` (the local agent a `run --local` job calls, many times per step)
// must not pay for Nx, which the generator loads.
const argv = process.argv.slice(2);

async function start(): Promise<number> {
  if (argv[0] === AGENT_ENTRY) {
    const { agentMain } = await import('./local/agent-cli.js');
    return agentMain({
      argv: argv.slice(1),
      env: process.env,
      cwd: process.cwd(),
      stdin: readStdin,
      stdout: (text) => void process.stdout.write(text),
      stderr: (text) => void process.stderr.write(text),
    });
  }
  const { main } = await import('./cli.js');
  // stdout carries only the pipeline, so whatever else writes to process.stdout (Nx and its
  // plugins while the project graph is built) goes to stderr; `main` writes the pipeline through the saved writer.
  const stdout = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  return main(argv, {
    stdout: (text) => void stdout(text),
    stderr: (text) => void process.stderr.write(text),
    stderrStream: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    now: () => new Date(),
    // How a job calls this same script as its `buildkite-agent` (node flags kept: tsx under tests).
    self: [process.execPath, ...process.execArgv, realpathSync(process.argv[1]!), AGENT_ENTRY],
    // The script (dist/engex-pipeline.cjs, the bin/ shim, or src/bin.ts under tsx) sits one folder below its
    // package; realpath because npm's .bin entry is a symlink.
    build: () => readBuildInfo('engex-pipeline', join(dirname(realpathSync(process.argv[1]!)), '..')),
  });
}

/** The hidden first argument that makes this script the local `buildkite-agent`. */
const AGENT_ENTRY = '__buildkite-agent';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

void start().then((code) => {
  process.exitCode = code;
});
