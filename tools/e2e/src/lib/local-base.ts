import { execFile, spawn } from 'node:child_process';
import { access, chmod, copyFile, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { DockerUnavailableError, dockerBuildEnv, probeDocker } from './docker.js';
import { NODE_USER, localBaseTag, planLocalBase } from './local-base-plan.js';

const run = promisify(execFile);

export interface BuildLocalBaseOptions {
  env: NodeJS.ProcessEnv;
  /** Rebuild even when the tag already exists. Default false. */
  force?: boolean;
  /** Default: the node running this code (process.execPath). */
  nodePath?: string;
  /** Default: /bin/busybox (Debian's busybox-static). */
  busyboxPath?: string;
  /** Default: /usr/bin/tini-static (Debian's tini). */
  tiniPath?: string;
  /** Progress lines; default: none. */
  log?: (line: string) => void;
}

export interface LocalBaseResult {
  /** Pass this as NODE_IMAGE to the shared Dockerfile. */
  tag: string;
  /** False when the tag was already present and reused. */
  built: boolean;
}

export class LocalBaseError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = this.constructor.name;
  }
}

async function requireFile(path: string, how: string): Promise<void> {
  try {
    await access(path);
  } catch (cause) {
    throw new LocalBaseError(`${path} is missing: ${how}`, { cause });
  }
}

async function imageExists(tag: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  return run('docker', ['image', 'inspect', '--format', '{{.Id}}', tag], { env }).then(
    () => true,
    () => false,
  );
}

/**
 * Builds (once) a `FROM scratch` image from this machine's Node runtime, tagged
 * `engex-local/node-base:<node version>`. Idempotent: an existing tag is reused unless `force`.
 */
export async function buildLocalBase(options: BuildLocalBaseOptions): Promise<LocalBaseResult> {
  const env = options.env;
  const log = options.log ?? (() => undefined);
  const nodePath = await realpath(options.nodePath ?? process.execPath);
  const busyboxPath = options.busyboxPath ?? '/bin/busybox';
  const tiniPath = options.tiniPath ?? '/usr/bin/tini-static';

  const status = await probeDocker(env);
  if (!status.available) throw new DockerUnavailableError(status.reason);
  const nodeVersion = (await run(nodePath, ['-p', 'process.versions.node'])).stdout.trim();
  const tag = localBaseTag(nodeVersion);
  if (!options.force && (await imageExists(tag, env))) {
    log(`local base ${tag} already present`);
    return { tag, built: false };
  }

  await requireFile(busyboxPath, 'install a statically linked busybox (Debian: `apt-get install busybox-static`)');
  await requireFile(tiniPath, 'install a statically linked tini (Debian: `apt-get install tini`)');
  const lddOutput = await run('ldd', [nodePath]).then(
    (r) => r.stdout,
    (error: NodeJS.ErrnoException & { stdout?: string }) => {
      // glibc's ldd exits 1 on a static binary and says so; anything else is a real failure.
      if (error.stdout && /not a dynamic executable/.test(error.stdout)) return error.stdout;
      throw new LocalBaseError(`\`ldd ${nodePath}\` failed: ${error.message}. The local base needs glibc's or musl's ldd.`, { cause: error });
    },
  );
  const busyboxApplets = (await run(busyboxPath, ['--list-full'])).stdout;
  const plan = planLocalBase({ nodePath, nodeVersion, lddOutput, busyboxPath, busyboxApplets, tiniPath });

  const context = await mkdtemp(join(tmpdir(), 'engex-local-base-'));
  try {
    const rootfs = join(context, 'rootfs');
    for (const d of plan.dirs) {
      await mkdir(join(rootfs, d.to), { recursive: true });
      await chmod(join(rootfs, d.to), d.mode);
    }
    for (const c of plan.copies) {
      await mkdir(dirname(join(rootfs, c.to)), { recursive: true });
      await copyFile(await realpath(c.from), join(rootfs, c.to));
    }
    for (const w of plan.writes) {
      await mkdir(dirname(join(rootfs, w.to)), { recursive: true });
      await writeFile(join(rootfs, w.to), w.content, { mode: w.mode });
    }
    for (const s of plan.symlinks) {
      await mkdir(dirname(join(rootfs, s.to)), { recursive: true });
      await symlink(s.target, join(rootfs, s.to));
    }
    await mkdir(join(context, NODE_USER.home), { recursive: true });
    await writeFile(join(context, 'Dockerfile'), plan.dockerfile);

    log(`building local base ${tag} from ${nodePath} (${plan.copies.length} files)`);
    await dockerBuild(['build', '--quiet', '--tag', tag, context], dockerBuildEnv(env, status));
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  return { tag, built: true };
}

function dockerBuild(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new LocalBaseError(`docker ${args.join(' ')} failed (exit ${code}):\n${output.trim()}`));
    });
  });
}
