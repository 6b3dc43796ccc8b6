// engex-local-base: builds the local Node base image and prints its tag, for
//   NODE_IMAGE=$(node tools/e2e/dist/engex-local-base.cjs) npm run pipeline:local
import { buildLocalBase } from './lib/local-base.js';

const USAGE = `Usage: engex-local-base [--force]

Builds (once) a FROM-scratch Docker image from this machine's Node runtime (node binary, its
shared libraries, busybox as /bin/sh, tini as /sbin/tini, user node 1000:1000) and prints its tag
on stdout. Use it as NODE_IMAGE where Docker Hub is unreachable.

  --force   rebuild even if the tag already exists
`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const unknown = argv.filter((a) => a !== '--force');
  if (unknown.length > 0) {
    process.stderr.write(`engex-local-base: unknown argument ${unknown[0]}\n\n${USAGE}`);
    return 2;
  }
  const result = await buildLocalBase({
    env: process.env,
    force: argv.includes('--force'),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${result.tag}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: Error) => {
    process.stderr.write(`engex-local-base: ${error.message}\n`);
    process.exitCode = 4;
  },
);
