import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { runCommand } from '@engex/ci-lib';

/** Commits in the temp clone carry this identity; the machine may have none configured. */
const GIT_IDENTITY = ['-c', 'user.name=engex e2e', '-c', 'user.email=engex-e2e@localhost', '-c', 'commit.gpgsign=false'];

export interface TempWorkspace {
  root: string;
  git(args: string[]): Promise<string>;
  /** Appends `text` to a file and commits it; returns the new HEAD sha. */
  commitAppend(file: string, text: string, message: string): Promise<string>;
  head(): Promise<string>;
}

/**
 * Clones the committed HEAD of `source` into `dir` on branch `main` (the deploy branch), and
 * links `source`'s installed node_modules into it, so no network is needed. Workspace packages
 * (`@engex/*`) link to the clone's own projects, as npm workspaces would.
 */
export async function cloneWorkspace(source: string, dir: string): Promise<TempWorkspace> {
  const sha = (await runCommand('git', ['rev-parse', 'HEAD'], { cwd: source })).stdout.trim();
  await runCommand('git', ['clone', '--quiet', '--no-checkout', source, dir]);
  await runCommand('git', ['checkout', '--quiet', '-B', 'main', sha], { cwd: dir });
  await linkNodeModules(source, dir);
  // .gitignore says `node_modules/`, which matches folders only: the symlinks made here would be
  // untracked changes, and every project would look affected.
  await appendFile(join(dir, '.git/info/exclude'), '\nnode_modules\n');

  const git = async (args: string[]): Promise<string> => (await runCommand('git', [...GIT_IDENTITY, ...args], { cwd: dir })).stdout.trim();
  return {
    root: dir,
    git,
    head: () => git(['rev-parse', 'HEAD']),
    async commitAppend(file, text, message) {
      await appendFile(join(dir, file), text);
      await git(['add', file]);
      await git(['commit', '--quiet', '-m', message]);
      return git(['rev-parse', 'HEAD']);
    },
  };
}

async function workspaceFolders(root: string): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { workspaces?: string[] };
  const folders: string[] = [];
  for (const pattern of pkg.workspaces ?? []) {
    // npm workspaces here are `<dir>/*` globs.
    const parent = pattern.replace(/\/\*$/, '');
    if (!existsSync(join(root, parent))) continue;
    for (const e of await readdir(join(root, parent), { withFileTypes: true })) {
      if (e.isDirectory() && existsSync(join(root, parent, e.name, 'package.json'))) folders.push(`${parent}/${e.name}`);
    }
  }
  return folders;
}

async function linkNodeModules(source: string, clone: string): Promise<void> {
  const from = join(source, 'node_modules');
  if (!existsSync(from)) throw new Error(`${from} is missing: run \`npm ci\` in the workspace first.`);
  const to = join(clone, 'node_modules');
  await mkdir(to);
  for (const entry of await readdir(from)) {
    if (entry === '@engex') continue;
    await symlink(join(from, entry), join(to, entry));
  }
  const own = join(to, '@engex');
  await mkdir(own);
  for (const folder of await workspaceFolders(clone)) {
    const name = (JSON.parse(await readFile(join(clone, folder, 'package.json'), 'utf8')) as { name?: string }).name;
    if (name?.startsWith('@engex/')) await symlink(relative(own, join(clone, folder)), join(own, name.slice('@engex/'.length)));
    // Dependencies npm could not hoist live in the workspace's own node_modules.
    if (existsSync(join(source, folder, 'node_modules'))) {
      await symlink(join(source, folder, 'node_modules'), join(clone, folder, 'node_modules'));
    }
  }
}
