import { join } from 'node:path';
import { runCommand } from '../lib/run-command.js';
import { createTempWorkspace, hermeticEnv } from './temp-workspace.js';

/** A base whose one container runs `image:bootstrap`, for overlays to render over. */
export function opsBase(image: string): Record<string, string> {
  return {
    'base/kustomization.yaml': 'resources:\n  - deployment.yaml\n',
    'base/deployment.yaml': `kind: Deployment\napiVersion: apps/v1\nmetadata:\n  name: halow\nspec:\n  template:\n    spec:\n      containers:\n        - name: halow\n          image: ${image}:bootstrap\n`,
  };
}

/**
 * A bare ops repository `<dir>/ops.git` whose main holds `files` (overlays) and a base running
 * `image`, in one commit; deploy bump and status clone it like the real one. Returns its path.
 */
export async function seedOpsRepo(dir: string, image: string, files: Record<string, string>): Promise<string> {
  const bare = join(dir, 'ops.git');
  const env = hermeticEnv({ GIT_AUTHOR_NAME: 's', GIT_AUTHOR_EMAIL: 's@example.com', GIT_COMMITTER_NAME: 's', GIT_COMMITTER_EMAIL: 's@example.com' });
  await runCommand('git', ['init', '--quiet', '--bare', '--initial-branch=main', bare], { env });
  const tree = { ...files, ...opsBase(image) };
  const seed = await createTempWorkspace({ files: tree });
  try {
    await runCommand('git', ['init', '--quiet', '--initial-branch=main'], { cwd: seed.root, env });
    await runCommand('git', ['add', '--', ...Object.keys(tree)], { cwd: seed.root, env });
    await runCommand('git', ['commit', '--quiet', '-m', 'seed'], { cwd: seed.root, env });
    await runCommand('git', ['push', '--quiet', bare, 'main'], { cwd: seed.root, env });
  } finally {
    await seed.cleanup();
  }
  return bare;
}
