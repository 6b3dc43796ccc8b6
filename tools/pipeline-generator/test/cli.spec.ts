import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createSyntheticWorkspace, git, type SyntheticWorkspace } from './synthetic-workspace.mjs';
import { usable } from '@engex/ci-lib/testing';
import { REPO_ROOT, SCHEMA, schemaErrors } from './schema.js';

const CLI = join(REPO_ROOT, 'tools/pipeline-generator/src/bin.ts');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI from source (no build needed), in `cwd`, with only the variables given. */
function run(cwd: string, args: string[], env: Record<string, string> = {}): Run {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BUILDKITE') && !k.startsWith('NX_') && k !== 'CI')) as Record<string, string>;
  const r = spawnSync(process.execPath, ['--conditions=@engex/source', '--import', 'tsx', CLI, ...args], {
    cwd,
    env: { ...clean, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', ...env },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Doc = { steps: Record<string, unknown>[]; notify?: unknown[] };
const keys = (doc: Doc): string[] => doc.steps.flatMap((s) => ('group' in s ? (s['steps'] as Record<string, unknown>[]).map((c) => c['key'] as string) : [s['key'] as string]));

/** An extra check on output the test asserts anyway: skipped only where ../shared is absent and not required. */
function expectSchemaValid(doc: unknown): void {
  if (usable(SCHEMA)) expect(schemaErrors(doc)).toEqual([]);
}

/**
 * A synthetic workspace for the enclosing describe block: created before its tests (then `setup`
 * runs), removed with its parent folder after them. `ws()` reads it once it exists.
 */
function syntheticWorkspace(prefix: string, size: { projects: number; services: number }, setup?: () => void): { parent: string; ws: () => SyntheticWorkspace } {
  const parent = mkdtempSync(join(tmpdir(), prefix));
  let created: SyntheticWorkspace | undefined;
  const ws = (): SyntheticWorkspace => {
    if (!created) throw new Error(`${prefix}: the synthetic workspace is read before beforeAll made it`);
    return created;
  };
  beforeAll(() => {
    created = createSyntheticWorkspace({ ...size, nodeModules: join(REPO_ROOT, 'node_modules'), parent });
    setup?.();
  }, 60_000);
  afterAll(() => rmSync(parent, { recursive: true, force: true }), 60_000);
  return { parent, ws };
}

// Real processes: Nx reads its workspace root from the process's cwd, and stdout must carry only
// the pipeline even when Nx prints. Usage and exit codes are tested in-process (src/cli.spec.ts).
// Each run builds an Nx project graph in a child process; generous timeouts, no timing assertions.
describe('engex-pipeline generate, end to end in a synthetic workspace', { timeout: 240_000 }, () => {
  const { parent, ws } = syntheticWorkspace('engex-cli-', { projects: 12, services: 2 });

  it('--strict-base fails (exit 1) where no base exists; without it everything runs and the summary says why', () => {
    const env = { BUILDKITE: 'true', BUILDKITE_BRANCH: 'main', BUILDKITE_PIPELINE_DEFAULT_BRANCH: 'main' };
    const strict = run(ws().root, ['generate', '--strict-base'], env);
    expect(strict.status).toBe(1);
    expect(strict.stdout).toBe('');
    expect(strict.stderr).toContain('No base commit could be established');
    const loose = run(ws().root, ['generate'], env);
    expect(loose.status).toBe(0);
    expect(loose.stderr).toContain('[none]');
    expect(loose.stderr).toContain('12 of 12 projects affected');
    const doc = parse(loose.stdout) as Doc;
    expect(keys(doc)).toContain('syn-svc-1:deploy-staging');
    expectSchemaValid(doc);
  });

  it("a service's nx.metadata.engex reaches the plan (Nx itself drops nx.metadata)", () => {
    const svc = ws().roots.at(-1) as string;
    const slug = (ws().names.at(-1) as string).replace('@', '').replace('/', '-');
    const file = join(ws().root, svc, 'package.json');
    const original = readFileSync(file, 'utf8');
    const pkg = JSON.parse(original) as { nx: { metadata: { engex: Record<string, unknown> } } };
    pkg.nx.metadata.engex = { ...pkg.nx.metadata.engex, repository: `engex/${svc.split('/').pop() as string}/custom`, deployWhen: 'service' };
    writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
    git(ws().root, 'commit', '--quiet', '-am', 'svc: own repository, deploy when its own checks pass');
    const r = run(ws().root, ['generate', '--base', 'HEAD~1', '--head', 'HEAD'], { BUILDKITE: 'true', BUILDKITE_BRANCH: 'main', BUILDKITE_PIPELINE_DEFAULT_BRANCH: 'main' });
    // The later tests of this workspace expect its original metadata.
    writeFileSync(file, original);
    git(ws().root, 'commit', '--quiet', '-am', 'svc: back to the defaults');
    expect(r.status, r.stderr).toBe(0);
    const doc = parse(r.stdout) as Doc;
    const steps = doc.steps.flatMap((s) => ('group' in s ? (s['steps'] as Record<string, unknown>[]) : [s]));
    const image = steps.find((s) => s['key'] === `${slug}:image`) as { commands: string[] };
    expect(image.commands.join('\n')).toContain(`/engex/${svc.split('/').pop() as string}/custom:`);
    const deploy = steps.find((s) => s['key'] === `${slug}:deploy-staging`) as { depends_on: string[] };
    expect(deploy.depends_on).not.toContain('engex-checks-passed');
  });

  it('a spec-only change in a service runs its tests, and builds no image', () => {
    const svc = ws().roots.at(-1) as string;
    const slug = (ws().names.at(-1) as string).replace('@', '').replace('/', '-');
    ws().commitChange(`${svc}/src/index.spec.js`);
    const r = run(ws().root, ['generate', '--base', 'HEAD~1', '--head', 'HEAD', '--explain']);
    expect(r.status).toBe(0);
    const doc = parse(r.stdout) as Doc;
    expect(keys(doc)).toEqual(['engex-plan', `${slug}:tasks`]);
    expect(r.stderr).toContain('skipped build: no change reaches its inputs');
    expect(r.stderr).toContain('skipped image: no build input changed');
    expectSchemaValid(doc);
  });

  it('a root library change reaches every project; --explain prints files and dependency paths', () => {
    ws().commitChange(ws().rootLib.source);
    const r = run(ws().root, ['generate', '--base', 'HEAD~1', '--head', 'HEAD', '--explain']);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('12 of 12 projects affected');
    expect(r.stderr).toContain(`changed: ${ws().rootLib.source}`);
    expect(r.stderr).toMatch(/via: @syn\/svc-1 -> @syn\/lib-\d{4} -> .*@syn\/lib-0000/);
    const doc = parse(r.stdout) as Doc;
    expect(keys(doc)).toEqual(expect.arrayContaining(['syn-svc-1:image', 'syn-svc-1:scan', 'syn-svc-2:image']));
    // Locally the branch is git's (main here), so the preview includes main's staging deploy.
    expect(keys(doc)).toContain('syn-svc-1:deploy-staging');
    expectSchemaValid(doc);
  });

  it('nothing affected: one step that says so, valid for upload', () => {
    writeFileSync(join(ws().root, 'NOTES.md'), 'notes\n');
    git(ws().root, 'add', 'NOTES.md');
    git(ws().root, 'commit', '-q', '-m', 'notes');
    const r = run(ws().root, ['generate', '--base', 'HEAD~1', '--head', 'HEAD', '--format', 'json']);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(keys(doc)).toEqual(['engex-plan']);
    expect(JSON.stringify(doc)).toContain('Nothing affected');
    expect(r.stderr).toContain('Nothing affected');
    expectSchemaValid(doc);
  });

  // git quotes these in `--name-only` output ("apps/halow/src/\303\274n\303\257.ts"); Nx reads
  // that without -z, matches no project and reports "Nothing affected".
  it.each([
    ['non-ASCII', 'ünï.js'],
    ['a tab', 'tab\there.js'],
    ['a double quote', 'quo"te.js'],
    ['a newline', 'new\nline.js'],
  ])('a commit that only adds a name with %s affects its service and plans its steps', (_what, name) => {
    const svc = ws().roots.at(-1) as string;
    const slug = (ws().names.at(-1) as string).replace('@', '').replace('/', '-');
    writeFileSync(join(ws().root, svc, 'src', name), 'export const odd = true;\n');
    git(ws().root, 'add', '-A');
    git(ws().root, 'commit', '-q', '-m', `add ${JSON.stringify(name)}`);
    const committed = run(ws().root, ['generate', '--base', 'HEAD~1', '--head', 'HEAD', '--explain']);
    expect(committed.status).toBe(0);
    expect(committed.stderr).not.toContain('Nothing affected');
    expect(committed.stderr).toContain(`changed: ${svc}/src/${name}`);
    expect(keys(parse(committed.stdout) as Doc)).toEqual(expect.arrayContaining([`${slug}:build`, `${slug}:image`]));
  });

  it('an untracked file with a quoted name counts in the working tree', () => {
    const svc = ws().roots.at(-1) as string;
    const slug = (ws().names.at(-1) as string).replace('@', '').replace('/', '-');
    const file = join(ws().root, svc, 'src', 'ünt\tracked.js');
    writeFileSync(file, 'export const u = 1;\n');
    const r = run(ws().root, ['generate', '--base', 'HEAD']);
    rmSync(file);
    expect(r.status).toBe(0);
    expect(keys(parse(r.stdout) as Doc)).toContain(`${slug}:build`);
  });

  it('working tree: uncommitted and untracked files count, like nx affected', () => {
    writeFileSync(join(ws().root, ws().leaf.source), 'export const changed = true;\n');
    const r = run(ws().root, ['generate', '--base', 'HEAD']);
    git(ws().root, 'checkout', '--', ws().leaf.source);
    expect(r.status).toBe(0);
    const doc = parse(r.stdout) as Doc;
    expect(keys(doc)).toContain(`${ws().leaf.name.replace('@', '').replace('/', '-')}:tasks`);
    expect(r.stdout).toMatch(new RegExp(`nx run-many --targets \\S*build\\S* --projects ${ws().leaf.name}`));
  });

  it('a hostile branch name on the default-branch rules yields a valid pipeline that carries it inertly', () => {
    const branch = 'feat/$(touch pwned)`id`\'"\n🚀';
    const env = { BUILDKITE: 'true', BUILDKITE_BRANCH: branch, BUILDKITE_PIPELINE_DEFAULT_BRANCH: branch };
    expect(run(ws().root, ['generate'], env).stderr).toContain('[parent-commit]');
    // --all, so the "no deploy target" note carries the branch name into the annotation.
    const r = run(ws().root, ['generate', '--all'], env);
    expect(r.status).toBe(0);
    const doc = parse(r.stdout) as Doc;
    expect(r.stdout).toContain('$$(touch pwned)');
    expect(readdirSync(ws().root)).not.toContain('pwned');
    expectSchemaValid(doc);
  });

  it('--out-dir writes one file per upload and removes stale ones', () => {
    const out = join(parent, 'generated');
    const first = run(ws().root, ['generate', '--all', '--out-dir', out]);
    expect(first.status).toBe(0);
    writeFileSync(join(out, 'pipeline-009.yml'), 'stale');
    const second = run(ws().root, ['generate', '--all', '--out-dir', out]);
    expect(second.status).toBe(0);
    expect(second.stdout).toBe('');
    expect(readdirSync(out)).toEqual(['pipeline-001.yml']);
    expectSchemaValid(parse(readFileSync(join(out, 'pipeline-001.yml'), 'utf8')));
  });
});

// Nx reads package.json loosely: a string `nx.tags` drops the service's image, scan and deploy
// with exit 0, and bad JSON is "Failed to process project graph". Each case edits one manifest
// in the working tree and restores it.
describe('engex-pipeline generate refuses malformed project metadata (exit 2, file and JSON path)', { timeout: 240_000 }, () => {
  const { ws } = syntheticWorkspace('engex-cli-meta-', { projects: 4, services: 1 });

  const withManifest = (edit: (pkg: Record<string, unknown>) => string): Run => {
    const svc = ws().roots.at(-1) as string;
    const file = join(ws().root, svc, 'package.json');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, edit(JSON.parse(original) as Record<string, unknown>));
    try {
      return run(ws().root, ['generate', '--all']);
    } finally {
      writeFileSync(file, original);
    }
  };

  it.each([
    ['a string nx.tags', (p: Record<string, unknown>) => JSON.stringify({ ...p, nx: { tags: 'engex:service' } }), 'nx.tags: expected an array of strings, got "engex:service"'],
    [
      'a port that is not a number',
      (p: Record<string, unknown>) => JSON.stringify({ ...p, nx: { tags: ['engex:service'], metadata: { engex: { port: 'abc' } } } }),
      'nx.metadata.engex.port: expected an integer from 1 to 65535, got "abc"',
    ],
    ['a name that is not a string', (p: Record<string, unknown>) => JSON.stringify({ ...p, name: 123 }), 'name: expected the package name as a non-empty string, got 123'],
    ['invalid JSON', (p: Record<string, unknown>) => JSON.stringify(p).slice(0, -1), ': (root): cannot be read as JSON'],
  ])('%s', (_what, edit, message) => {
    const r = withManifest(edit);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${ws().roots.at(-1)}/package.json${message.startsWith(':') ? '' : ': '}${message}`);
    expect(r.stderr).not.toContain('Failed to process project graph');
  });

  it('the unedited workspace still generates', () => {
    expect(run(ws().root, ['generate', '--all']).status).toBe(0);
  });
});

// Every byte the CLI prints passes ci-lib's redact() at the edge: secrets planted in the env and
// in the config's ops-repo URL never reach stdout or stderr, on success and on failure paths.
describe('engex-pipeline prints no secret', { timeout: 240_000 }, () => {
  const { ws } = syntheticWorkspace('engex-cli-secrets-', { projects: 4, services: 1 }, () => {
    writeFileSync(join(ws().root, 'engex.config.json'), JSON.stringify({ opsRepo }));
    git(ws().root, 'commit', '-qam', 'ops repo with a token');
  });
  const API_TOKEN = 'bkSecretToken0123456789abcdef';
  const REPO_TOKEN = 'ghp_0123456789abcdefghijABCDEFGHIJ012345';
  const opsRepo = `https://x-access-token:${REPO_TOKEN}@git.example.invalid/acme/ops.git`;

  const buildkite = {
    BUILDKITE: 'true',
    BUILDKITE_BRANCH: 'main',
    BUILDKITE_PIPELINE_DEFAULT_BRANCH: 'main',
    BUILDKITE_ORGANIZATION_SLUG: 'acme',
    BUILDKITE_PIPELINE_SLUG: 'syn',
    BUILDKITE_API_TOKEN: API_TOKEN,
    ENGEX_PIPELINE_API_DEADLINE: '2',
  };

  it.each([
    ['generate --all (the deploy step carries the ops repo)', ['generate', '--all'], {}],
    ['generate on Buildkite, API unreachable', ['generate', '--explain'], buildkite],
    ['generate on Buildkite, --strict-base', ['generate', '--strict-base'], buildkite],
    ['a usage error', ['generate', '--format', API_TOKEN], buildkite],
    ['a bad ref', ['generate', '--base', opsRepo], buildkite],
  ] as const)('%s', (_what, args, env) => {
    const r = run(ws().root, [...args], env);
    const all = r.stdout + r.stderr;
    expect(all).not.toContain(API_TOKEN);
    expect(all).not.toContain(REPO_TOKEN);
    expect(all).not.toContain(Buffer.from(API_TOKEN).toString('base64'));
    expect(r.status).not.toBeNull();
  });

  it('the deploy step shows the ops repo with its userinfo masked', () => {
    const r = run(ws().root, ['generate', '--all']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('https://***@git.example.invalid/acme/ops.git');
  });
});

// Issue 10: on the default branch without an API token the base was a blind HEAD~1, so a push of
// three commits whose first one changed a service deployed nothing. The ops repo here is a local
// bare repo; its overlay (under kustomize's second file name) runs the commit before the push.
describe('engex-pipeline generate compares a deployable service with what its overlay runs', { timeout: 240_000 }, () => {
  let c0 = '';
  let work = '';
  const { parent, ws } = syntheticWorkspace('engex-cli-deployed-', { projects: 4, services: 1 }, () => {
    writeFileSync(join(ws().root, 'engex.config.json'), JSON.stringify({ opsRepo: `file://${bare}` }));
    git(ws().root, 'commit', '-qam', 'ops repo');
    c0 = git(ws().root, 'rev-parse', 'HEAD').trim();
    git(parent, 'init', '-q', '--bare', '-b', 'main', bare);
    work = join(parent, 'ops-work');
    git(parent, 'init', '-q', '-b', 'main', work);
    git(work, 'remote', 'add', 'origin', bare);
    mkdirSync(join(work, 'overlays/staging'), { recursive: true });
    // What runs is what the overlay renders (issue 20): a base with the service's Deployment.
    mkdirSync(join(work, 'base'), { recursive: true });
    writeFileSync(join(work, 'base/kustomization.yaml'), 'resources: [deployment.yaml]\n');
    writeFileSync(
      join(work, 'base/deployment.yaml'),
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc-1\nspec:\n  template:\n    spec:\n      containers:\n        - name: svc-1\n          image: ${image}:bootstrap\n`,
    );
    deploy(c0);
    // The push: the service changes first, then two commits that touch no project.
    ws().commitChange(`${ws().roots.at(-1)}/src/index.js`);
    writeFileSync(join(ws().root, 'NOTES.md'), 'a\n');
    git(ws().root, 'add', '-A');
    git(ws().root, 'commit', '-q', '-m', 'notes');
    writeFileSync(join(ws().root, 'NOTES.md'), 'b\n');
    git(ws().root, 'commit', '-qam', 'more notes');
  });
  const bare = join(parent, 'ops.git');
  const onMain = { BUILDKITE: 'true', BUILDKITE_BRANCH: 'main', BUILDKITE_PIPELINE_DEFAULT_BRANCH: 'main' };
  const image = '460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/svc-1';

  const deploy = (sha: string): void => {
    writeFileSync(join(work, 'overlays/staging/kustomization.yml'), `resources: [../../base]\nimages:\n  - name: ${image}\n    newTag: "${sha}"\n`);
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '--allow-empty', '-m', `deploy ${sha}`);
    git(work, 'push', '-q', 'origin', 'HEAD:main');
  };

  const slug = (): string => (ws().names.at(-1) as string).replace('@', '').replace('/', '-');

  it('a three-commit push whose first commit changed the service deploys it', () => {
    const r = run(ws().root, ['generate'], onMain);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`svc-1 runs ${c0.slice(0, 12)} in overlays/staging: compared from there`);
    expect(keys(parse(r.stdout) as Doc)).toEqual(expect.arrayContaining([`${slug()}:build`, `${slug()}:image`, `${slug()}:deploy-staging`]));
  });

  it('an overlay already at the parent commit keeps HEAD~1: nothing to deploy', () => {
    const parentCommit = git(ws().root, 'rev-parse', 'HEAD~1').trim();
    deploy(parentCommit);
    try {
      const r = run(ws().root, ['generate'], onMain);
      expect(r.status).toBe(0);
      expect(keys(parse(r.stdout) as Doc)).not.toContain(`${slug()}:deploy-staging`);
    } finally {
      deploy(c0);
    }
  });

  it.each([
    ['the ops repo is unreachable', () => writeFileSync(join(ws().root, 'engex.config.json'), JSON.stringify({ opsRepo: `file://${join(parent, 'missing.git')}` })), 'ops repo'],
    ['the overlay runs a tag that is no commit', () => deploy('latest'), 'it runs tag "latest", not a commit sha'],
    ['the overlay runs a commit this repo does not have', () => deploy('d'.repeat(40)), 'is not a commit of this repository'],
  ])('%s: everything of the service runs, and the summary says why', (_what, setup, why) => {
    const config = readFileSync(join(ws().root, 'engex.config.json'), 'utf8');
    setup();
    try {
      const r = run(ws().root, ['generate'], onMain);
      expect(r.status).toBe(0);
      expect(r.stderr).toContain('deployed commit of overlays/staging unknown (');
      expect(r.stderr).toContain(why);
      expect(keys(parse(r.stdout) as Doc)).toEqual(expect.arrayContaining([`${slug()}:build`, `${slug()}:image`, `${slug()}:deploy-staging`]));
    } finally {
      writeFileSync(join(ws().root, 'engex.config.json'), config);
      deploy(c0);
    }
  });
});

describe('engex-pipeline generate --all at 1,000 projects', { timeout: 600_000 }, () => {
  const parent = mkdtempSync(join(tmpdir(), 'engex-cli-1000-'));
  afterAll(() => rmSync(parent, { recursive: true, force: true }), 120_000);

  it('stays under Buildkite limits: several uploads, each valid, depends_on only backwards', () => {
    const ws = createSyntheticWorkspace({ projects: 1000, services: 3, nodeModules: join(REPO_ROOT, 'node_modules'), parent });
    const out = join(parent, 'generated');
    const r = run(ws.root, ['generate', '--all', '--out-dir', out]);
    expect(r.stderr).toContain('1000 of 1000 projects affected');
    expect(r.status).toBe(0);
    const files = readdirSync(out).sort();
    expect(files.length).toBeGreaterThan(1);
    const seen = new Set<string>();
    for (const f of files) {
      const doc = parse(readFileSync(join(out, f), 'utf8')) as Doc;
      const steps = doc.steps.flatMap((s) => ('group' in s ? (s['steps'] as Record<string, unknown>[]) : [s]));
      expect(steps.length).toBeLessThanOrEqual(500);
      for (const s of steps) seen.add(s['key'] as string);
      for (const s of steps) for (const d of (s['depends_on'] as string[] | undefined) ?? []) expect(seen.has(d)).toBe(true);
      expectSchemaValid(doc);
    }
    // plan, one checks job per project, a service's build apart, image/scan/deploy per service, the checks gate
    expect(seen.size).toBe(1 + 1000 + 3 + 3 * 3 + 1);
  });
});
