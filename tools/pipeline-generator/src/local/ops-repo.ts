import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Git } from '../io/git.js';

/** The overlays a seeded local ops repo has, as in the real `<service>-ops` repos. */
export const SEEDED_OVERLAYS = ['overlays/staging', 'overlays/production'] as const;

/** Kubernetes-style placeholder tag until the first deploy bump. */
export const SEED_TAG = 'initial';

/**
 * The files of a fresh local ops repo. The comments are part of the fixture: `deploy bump` must
 * keep them, and the e2e test checks that it does.
 */
export function renderOpsSeed(service: string, imageName: string): Record<string, string> {
  const files: Record<string, string> = {
    'README.md': `# ${service}-ops (local)\n\nLocal stand-in for the ${service} ops repository, created by \`engex-pipeline run --local\`.\n`,
    'base/kustomization.yaml': [
      `# Shared manifests of ${service}; the overlays pick the image tag.`,
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      '  - deployment.yaml',
      '',
    ].join('\n'),
    // deploy bump proves each bump by rendering the overlay: the service's container must be in it.
    'base/deployment.yaml': [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      `  name: ${service}`,
      'spec:',
      '  selector:',
      `    matchLabels: { app: ${service} }`,
      '  template:',
      '    metadata:',
      `      labels: { app: ${service} }`,
      '    spec:',
      '      containers:',
      `        - name: ${service}`,
      `          image: ${imageName}:${SEED_TAG}`,
      '',
    ].join('\n'),
  };
  for (const overlay of SEEDED_OVERLAYS) {
    const env = overlay.split('/').pop();
    files[`${overlay}/kustomization.yaml`] = [
      `# ${service} in ${env}. The pipeline bumps newTag below; edit the rest by hand.`,
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      '  - ../../base # shared manifests',
      'images:',
      `  # ${service}: tagged with the full commit sha (ECR tags are immutable)`,
      `  - name: ${imageName}`,
      `    newTag: ${SEED_TAG} # replaced by engex-ci deploy bump`,
      '',
    ].join('\n');
  }
  return files;
}

function git(args: string[], cwd: string, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  return new Git(cwd, env).run(args);
}

/**
 * Returns the bare repo at `path`, creating and seeding it (one commit on `main`) on first use.
 * An existing repo is never touched: it holds the history of earlier local deploys.
 */
export async function ensureOpsRepo(
  path: string,
  service: string,
  imageName: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ path: string; created: boolean }> {
  if (existsSync(join(path, 'HEAD'))) return { path, created: false };
  await mkdir(dirname(path), { recursive: true });
  await git(['init', '--quiet', '--bare', '--initial-branch=main', path], dirname(path), env);
  const work = await mkdtemp(join(tmpdir(), 'engex-ops-seed-'));
  try {
    await git(['init', '--quiet', '--initial-branch=main'], work, env);
    for (const [file, content] of Object.entries(renderOpsSeed(service, imageName))) {
      await mkdir(dirname(join(work, file)), { recursive: true });
      await writeFile(join(work, file), content);
    }
    await git(['add', '.'], work, env);
    await git(
      ['-c', 'user.name=engex local', '-c', 'user.email=engex-local@localhost', '-c', 'commit.gpgsign=false', 'commit', '--quiet', '-m', `Seed local ${service}-ops`],
      work,
      env,
    );
    await git(['push', '--quiet', path, 'main'], work, env);
  } catch (error) {
    await rm(path, { recursive: true, force: true });
    throw error;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { path, created: true };
}
