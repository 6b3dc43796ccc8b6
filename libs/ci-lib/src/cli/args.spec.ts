import { describe, expect, it } from 'vitest';
import { UsageError } from '../lib/errors.js';
import { parseArgs } from './args.js';
import { COMMANDS, type CommandSpec } from './commands.js';
import { renderCommandHelp, renderRootHelp } from './help.js';

describe('parseArgs', () => {
  it('parses a command, flags in both spellings, and the global --workspace', () => {
    expect(parseArgs(['deploy', 'bump', '--repo', 'r', '--path=overlays/staging/kustomization.yaml', '--image', 'i', '--tag', 't', '--workspace', '/w'])).toMatchObject({
      kind: 'run',
      command: { name: 'deploy bump' },
      flags: { repo: 'r', path: 'overlays/staging/kustomization.yaml', image: 'i', tag: 't' },
      positionals: [],
      workspace: '/w',
    });
  });

  it('parses positionals and negatable booleans', () => {
    expect(parseArgs(['scan', 'report', 'trivy.json', '--no-ignore-unfixed', '--fail-on', 'CRITICAL'])).toMatchObject({
      flags: { 'ignore-unfixed': false, 'fail-on': 'CRITICAL' },
      positionals: ['trivy.json'],
    });
    expect(parseArgs(['scan', 'report', '--ignore-unfixed', '--', '--odd-name.json'])).toMatchObject({ flags: { 'ignore-unfixed': true }, positionals: ['--odd-name.json'] });
  });

  it.each([
    [['--help'], { kind: 'help' }],
    [['-h'], { kind: 'help' }],
    [['image'], null],
    [['image', '--help'], { kind: 'help', group: 'image' }],
    [['image', 'push', '-h'], { kind: 'help', command: expect.objectContaining({ name: 'image push' }) }],
    [['image', 'push', '--projct', 'x', '--help'], { kind: 'help', command: expect.objectContaining({ name: 'image push' }) }],
  ])('help: %j', (argv, expected) => {
    if (expected === null) expect(() => parseArgs(argv)).toThrow('engex-ci image needs a subcommand: build, sbom, push, exists, smoke, list');
    else expect(parseArgs(argv)).toEqual(expected);
  });

  it.each([
    [[], 'missing command; run engex-ci --help'],
    [['imag', 'build'], 'unknown command "imag"; did you mean image?'],
    [['image', 'biuld'], 'unknown command "engex-ci image biuld"; did you mean build?; subcommands: build, sbom, push, exists, smoke, list'],
    [['image', 'build'], 'image build: missing --project <p>'],
    [['image', 'build', '--projct', 'halow'], 'image build: unknown flag --projct; did you mean --project? (flags: --project, --source-date-epoch, --built-sbom)'],
    [['image', 'build', '--project'], 'image build: --project needs a value <p>'],
    [['image', 'build', '--project', '--workspace', 'x'], 'image build: --project needs a value <p>'],
    [['image', 'build', '--project='], 'image build: --project must not be empty'],
    [['image', 'build', '--project', 'a', '--project', 'b'], 'image build: --project given twice'],
    [['image', 'build', '--project', 'a', 'extra'], 'image build: unexpected argument "extra"'],
    [['image', 'build', '-p', 'a'], 'image build: unknown flag -p; flags are --long only'],
    [['image', 'build', '-xyz'], 'image build: unknown flag -xyz; flags are --long only'],
    [['image', 'build', '--project', 'a', '--no-project'], 'image build: unknown flag --no-project; did you mean --project? (flags: --project, --source-date-epoch, --built-sbom)'],
    [['scan', 'report', 'a.json', '--ignore-unfixed', '--no-ignore-unfixed'], 'scan report: --ignore-unfixed given twice'],
    [['scan', 'report'], 'scan report: missing <trivy.json>'],
    [['scan', 'report', 'a.json', '--ignore-unfixed=yes'], 'scan report: --ignore-unfixed takes no value'],
    [['scan', 'report', 'a.json', '--no-fail-on'], 'scan report: unknown flag --no-fail-on'],
    [['deploy', 'bump', '--repo', 'r'], 'deploy bump: missing --image <name>, --tag <sha>'],
    [['--workspace'], '--workspace needs a directory'],
    [['--workspace='], '--workspace needs a directory'],
    [['--verbose', 'image'], 'unknown flag --verbose before a command'],
  ])('%j is a usage error naming the problem', (argv, message) => {
    let error: unknown;
    try {
      parseArgs(argv);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain(message);
  });
});

describe('help', () => {
  it('lists every command with its synopsis (the contract other tools call)', () => {
    expect(renderRootHelp()).toMatchInlineSnapshot(`
      "engex-ci: build, push, scan and deploy engex service images.
      The generated Buildkite pipeline calls these commands; they also run locally.

      Usage: engex-ci <command> [flags]

      Commands:
        engex-ci agent guard --policy <file>
            Refuse a job this credential-holding agent must not run (the pre-command hook of trusted queues)
        engex-ci image build --project <p> [--source-date-epoch commit] [--built-sbom]
            Build the service image with every tag, OCI label and build arg computed here
        engex-ci image sbom --project <p>
            Write the CycloneDX SBOM of the npm packages bundled into the service
        engex-ci image push --project <p>
            Push every tag idempotently to the IMMUTABLE repository
        engex-ci image exists --project <p>
            Ask the registry whether <registry>/<repo>:<sha> exists
        engex-ci image smoke --project <p> [--local]
            Run the pushed image; check /healthz and that /version.revision is the commit
        engex-ci scan report <trivy.json> [--fail-on ...] [--annotation <out.md>]
            Gate a Trivy JSON report and write a Markdown annotation
        engex-ci deploy bump --repo <git-url> --overlay <dir> --image <name> --tag <sha>
            Set an image's newTag in an ops repo overlay, commit and push
        engex-ci deploy verify --url <base-url> [--argocd-server <url> --argocd-app <name>] [--revision <sha>]
            Wait until the environment serves the new revision (and ArgoCD reports it Synced and Healthy)
        engex-ci ecr check --project <p> [--allow-mutable] [--annotation <out.md>]
            Preflight the service repository: it exists, is IMMUTABLE and scans on push
        engex-ci deploy status [--project <p>] [--format table|json] [--default-branch <name>] [--ops-repo <url>]
            What runs where: per service and deploy target, the deployed commit, its age and image
        engex-ci image list --project <p> [--limit <n>] [--format table|json]
            Recent images of a service: revision label, created time, size and digest
        engex-ci nx-cache serve --dir <path> | --s3-bucket <name> [--port <n>] [--host <addr>]
            Serve a self-hosted Nx remote cache (NX_SELF_HOSTED_REMOTE_CACHE_SERVER) from a directory or an S3 bucket
        engex-ci nx-cache proxy --upstream <url> [--url-file <path>] [--events <path>]
            Agent-local proxy to the shared Nx cache: cache trouble becomes a miss, never a failed build
        engex-ci nx-cache annotate --events <path> [--job <label>]
            Markdown for buildkite-agent annotate from the proxy's degraded requests (nothing when none)

      Global flags:
        --workspace <dir>  Workspace root (default: nearest directory at or above cwd with nx.json)
        -h, --help         Show help for engex-ci or for a command

      Environment (read once, validated; empty counts as unset):
        BUILDKITE_COMMIT, BUILDKITE_BRANCH, BUILDKITE_BUILD_URL, BUILDKITE_BUILD_NUMBER, BUILDKITE_PIPELINE_SLUG, BUILDKITE_PULL_REQUEST, BUILDKITE_TAG, SOURCE_DATE_EPOCH, REGISTRY, NODE_IMAGE
        BUILDKITE_COMMIT unset or HEAD: the workspace HEAD commit is used.
        REGISTRY=host:port: a plain OCI registry instead of ECR (no AWS auth; http on loopback).
        NODE_IMAGE: the Dockerfile base image instead of engex.config.json nodeImage.
        Deadlines, in seconds: ENGEX_CI_REGISTRY_DEADLINE (default 60, one registry request with its retries),
        ENGEX_CI_AWS_DEADLINE (default 30, one AWS call), ENGEX_CI_GIT_DEADLINE (default 120, one deploy bump).
        A missed deadline is exit 4. Every line printed is redacted (URL credentials, tokens, keys).

      Exit codes:
        0  ok
        1  a check failed: scan policy, smoke test (and \`image exists\`: absent)
        2  usage or configuration error (bad flag, env, engex.config.json, manifest, report)
        3  immutability conflict: the tag holds a different image; nothing was pushed
        4  infrastructure failure: docker, git, registry or AWS (a retry may help)

      Run engex-ci <command> --help for a command's flags and output.
      "
    `);
  });

  it('documents every flag of every command in its own help', () => {
    for (const command of COMMANDS as readonly CommandSpec[]) {
      const help = renderCommandHelp(command);
      expect(help.startsWith(`Usage: engex-ci ${command.name}`)).toBe(true);
      for (const flag of command.flags) expect(help).toContain(`--${flag.negatable ? '[no-]' : ''}${flag.name}`);
      for (const out of command.output) expect(help).toContain(out);
      expect(help).toMatch(/\nExit: 0 /);
    }
  });

  it('shows the deploy bump contract', () => {
    expect(renderCommandHelp(COMMANDS.find((c) => c.name === 'deploy bump')!).split('\n')[0]).toBe(
      'Usage: engex-ci deploy bump --repo <git-url> [--overlay <dir>] [--path <file>] --image <name> --tag <sha> [--digest <sha256:…>] [--digest-file <file>] [--ops-commit-file <file>] [--pin-digest] [--create] [--skip-render] [--allow-rollback] [--branch <name>] [--project <p>]',
    );
  });
});
