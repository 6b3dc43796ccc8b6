#!/usr/bin/env node
// bench/image: our production image vs a naive one, on the same local Node base.
//   npm run bench:image            (needs a Docker engine; writes bench/image/RESULTS.md)
//   BENCH_ROUNDS=5 npm run bench:image
// Measures the size each image adds over the base, the cold build time, and the rebuild time
// after a one-line source change (median of BENCH_ROUNDS, default 3). Works on a temp clone of
// HEAD, so the checkout is never modified.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const MB = 1024 * 1024;
const log = (line) => process.stderr.write(`[bench:image] ${line}\n`);

const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * MB, ...opts }).trim();
const timed = (fn) => {
  const t0 = process.hrtime.bigint();
  const value = fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, value };
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes) => `${(bytes / MB).toFixed(2)} MB`;

const probe = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' });
if (probe.status !== 0) {
  log(`no Docker engine answers: ${(probe.stderr || probe.error?.message || '').trim()}. Start dockerd (see README) and retry.`);
  process.exit(4);
}
const engine = probe.stdout.trim();
const buildx = spawnSync('docker', ['buildx', 'version']).status === 0;
const dockerEnv = { ...process.env, ...(buildx || process.env.DOCKER_BUILDKIT ? {} : { DOCKER_BUILDKIT: '0' }) };
const nxEnv = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };

log('building the halow bundle and the local base image builder');
sh('npx', ['nx', 'run-many', '-t', 'build', '-p', '@engex/halow', '@engex/e2e', '--outputStyle=static'], { cwd: root, env: nxEnv });
const base = sh(process.execPath, [join(root, 'tools/e2e/dist/engex-local-base.cjs')], { env: dockerEnv });
const sizeOf = (image) => Number(sh('docker', ['image', 'inspect', '--format', '{{.Size}}', image]));
const baseSize = sizeOf(base);
log(`base ${base}: ${mb(baseSize)}`);

const tmp = await mkdtemp(join(tmpdir(), 'engex-bench-image-'));
const ws = join(tmp, 'ws');
const naive = join(tmp, 'naive');
const OURS = 'engex-bench/halow-ours:bench';
const NAIVE = 'engex-bench/halow-naive:bench';
// Every image id a build printed: a rebuild untags the previous one, which would stay behind.
const built = new Set();
const track = (id) => (built.add(id), id);
try {
  // Hard links keep the 300 MB of node_modules cheap to "copy"; the naive image needs real files.
  sh('git', ['clone', '--quiet', root, ws]);
  sh('cp', ['-al', join(root, 'node_modules'), join(ws, 'node_modules')]);
  for (const parent of ['apps', 'libs', 'tools']) {
    if (!existsSync(join(root, parent))) continue;
    for (const name of readdirSync(join(root, parent))) {
      const nm = join(root, parent, name, 'node_modules');
      if (existsSync(nm) && existsSync(join(ws, parent, name))) sh('cp', ['-al', nm, join(ws, parent, name, 'node_modules')]);
    }
  }
  sh('cp', ['-al', ws, naive]);
  // The naive context keeps everything but git metadata and caches (its own .dockerignore; the
  // repo's lets only apps/*/dist in). Unlink first: the file is a hard link to the clone's.
  await rm(join(naive, '.dockerignore'));
  await writeFile(join(naive, '.dockerignore'), '.git\n.nx\n.engex-local\n');

  const sha = sh('git', ['rev-parse', 'HEAD'], { cwd: ws });
  const bundle = () => sh('npx', ['nx', 'run', '@engex/halow:build', '--outputStyle=static', '--skip-nx-cache'], { cwd: ws, env: nxEnv });
  const buildOurs = (extra = []) =>
    track(
      sh(
        'docker',
        [
          'build',
          ...extra,
          '-q',
          '-f',
          join(ws, 'docker/Dockerfile'),
          '--build-arg',
          `NODE_IMAGE=${base}`,
          '--build-arg',
          'APP=halow',
          '--build-arg',
          `REVISION=${sha}`,
          '-t',
          OURS,
          ws,
        ],
        { env: dockerEnv },
      ),
    );
  const buildNaive = (extra = []) =>
    track(sh('docker', ['build', ...extra, '-q', '-f', join(root, 'bench/image/Dockerfile.naive'), '--build-arg', `NODE_IMAGE=${base}`, '-t', NAIVE, naive], { env: dockerEnv }));

  log('cold builds (no cache)');
  const coldBundle = timed(bundle).ms;
  const coldOurs = timed(() => buildOurs(['--no-cache'])).ms;
  const coldNaive = timed(() => buildNaive(['--no-cache'])).ms;
  const oursAdded = sizeOf(OURS) - baseSize;
  const naiveAdded = sizeOf(NAIVE) - baseSize;
  log(`ours +${mb(oursAdded)} in ${secs(coldBundle)} bundle + ${secs(coldOurs)} image; naive +${mb(naiveAdded)} in ${secs(coldNaive)}`);

  const answers = async (image) => {
    const port = await new Promise((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address();
        s.close(() => resolve(port));
      });
    });
    const id = sh('docker', ['run', '-d', '--network', 'host', '-e', `PORT=${port}`, '-e', 'HOST=127.0.0.1', image]);
    try {
      for (let i = 0; i < 120; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        if (res?.status === 200) return true;
        await new Promise((r) => setTimeout(r, 250));
      }
      return false;
    } finally {
      spawnSync('docker', ['rm', '-f', id]);
    }
  };
  const oursOk = await answers(OURS);
  const naiveOk = await answers(NAIVE);
  log(`both answer /healthz: ours ${oursOk}, naive ${naiveOk}`);

  // A one-line change that survives bundling (a global assignment is a side effect esbuild keeps).
  const rebuildOurs = [];
  const rebuildOursImage = [];
  const rebuildNaive = [];
  for (let i = 1; i <= rounds; i++) {
    await appendFile(join(ws, 'apps/halow/src/app.ts'), `(globalThis as Record<string, unknown>)['engexBench'] = ${i};\n`);
    const b = timed(bundle).ms;
    const o = timed(() => buildOurs()).ms;
    const n = timed(() => buildNaive()).ms;
    rebuildOurs.push(b + o);
    rebuildOursImage.push(o);
    rebuildNaive.push(n);
    log(`round ${i}: ours ${secs(b)} bundle + ${secs(o)} image, naive ${secs(n)}`);
  }

  const ratio = naiveAdded / oursAdded;
  const pass = (ok) => (ok ? 'met' : 'NOT met');
  const results = `# bench/image: our image vs a naive one

Command: \`npm run bench:image\` (\`BENCH_ROUNDS=${rounds}\`), ${new Date().toISOString().slice(0, 10)}.
Machine: ${cpus().length} cores, Docker engine ${engine} with the vfs storage driver, ${buildx ? 'BuildKit' : 'legacy builder (no buildx)'}, no network inside builds.
Base for both: \`${base}\` (${mb(baseSize)}), built from this machine's Node by \`engex-local-base\`
(the node binary, its shared libraries, busybox, tini, user node).

| | ours (docker/Dockerfile) | naive (bench/image/Dockerfile.naive) |
| --- | --- | --- |
| size added over the base | **${mb(oursAdded)}** | ${mb(naiveAdded)} |
| cold build (no cache) | ${secs(coldBundle + coldOurs)} (bundle ${secs(coldBundle)} + image ${secs(coldOurs)}) | ${secs(coldNaive)} |
| rebuild after a one-line change (median of ${rounds}) | ${secs(median(rebuildOurs))} (image alone ${secs(median(rebuildOursImage))}) | ${secs(median(rebuildNaive))} |
| answers /healthz | ${oursOk ? 'yes' : 'NO'} | ${naiveOk ? 'yes' : 'NO'} |

Targets: ours under 5 MB added: **${pass(oursAdded < 5 * MB)}** (${mb(oursAdded)}); at most 1/50 of the naive
image's added size: **${pass(ratio >= 50)}** (naive is ${ratio.toFixed(0)}x ours).

What each contains:
- **ours**: the shared Dockerfile, unmodified, with \`NODE_IMAGE=${base}\` and \`APP=halow\`: the esbuild
  bundle \`apps/halow/dist/main.cjs\` only. Its build time includes \`nx run @engex/halow:build --skip-nx-cache\`.
- **naive**: \`COPY . .\` of the whole workspace (sources, every project, dev dependencies), run with tsx.
  Honest deviation: the textbook recipe runs \`RUN npm ci\`; Docker builds here have no network, so the
  context carries the host's \`node_modules\` (the same packages \`npm ci\` installs from the lock file)
  and the naive image does not pay the install time. Its cold build time is therefore a lower bound.
  Its .dockerignore drops only \`.git\`, \`.nx\` and \`.engex-local\`.

Sizes are \`docker image inspect .Size\` (uncompressed) minus the base's. The one-line change appends
a global assignment to \`apps/halow/src/app.ts\` in a temp clone, so the bundle really changes.
vfs copies every layer in full, so absolute build times here are slower than on overlayfs; compare
the two columns, not the numbers with another machine.
`;
  await writeFile(join(root, 'bench/image/RESULTS.md'), results);
  process.stdout.write(results);
} finally {
  spawnSync('docker', ['image', 'rm', '-f', OURS, NAIVE, ...built]);
  // Multi-stage builds leave the first stage's image untagged; it still carries the base's title label.
  spawnSync('docker', ['image', 'prune', '-f', '--filter', 'label=org.opencontainers.image.title=engex-local/node-base']);
  await rm(tmp, { recursive: true, force: true });
}
