import { describe, expect, it } from 'vitest';
import { DEFAULT_WORKSPACE_CONFIG, decideTrust, deployTargetFor, deployTargetsFor, normalizeOverlay, parseWorkspaceConfig, resolveServiceConfig } from './config.js';
import { ConfigError } from './errors.js';
import { isSpdxExpression } from './spdx.js';

const halow = { name: '@engex/halow', root: 'apps/halow', tags: ['engex:service'] };

describe('parseWorkspaceConfig', () => {
  it('defaults reproduce the seed pipeline', () => {
    const config = parseWorkspaceConfig({});
    expect(config).toEqual(DEFAULT_WORKSPACE_CONFIG);
    const service = resolveServiceConfig(config, halow);
    expect(service).toMatchObject({
      repository: 'engex/halow',
      source: 'https://github.com/highspot/halow',
      opsRepo: 'https://github.com/highspot/halow-ops.git',
      deployImageName: '460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow',
    });
  });

  it('reports every problem with its file and path', () => {
    let error: unknown;
    try {
      parseWorkspaceConfig({
        registry: { account: '4602', region: 'moon' },
        deployTargets: [{ branch: 'main' }],
        trivy: { failOn: ['HIGH', 'SEVERE'] },
        colour: 'blue',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues.map((i) => `${i.file}: ${i.path}: ${i.message}`);
    expect(issues).toEqual([
      'engex.config.json: colour: unknown key; allowed keys are $schema, registry, source, vendor, licenses, opsRepo, deployTargets, tags, slack, agents, trustedBranches, untrustedQueue, deployQueue, dockerQueue, plugins, trivy, nodeImage, stepGranularity, testEngine',
      'engex.config.json: registry.account: expected a 12-digit AWS account id, got "4602"',
      'engex.config.json: registry.region: expected an AWS region such as us-east-1, got "moon"',
      'engex.config.json: deployTargets[0].overlay: is required',
      'engex.config.json: trivy.failOn[1]: expected one of UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL, got "SEVERE"',
    ]);
  });

  it('fills in the deploy gates: production needs approval, the deploy queue is its own', () => {
    const config = parseWorkspaceConfig({
      agents: { queue: 'ci' },
      deployTargets: [
        { branch: 'main', overlay: 'overlays/staging', url: 'https://halow.staging.example.com/', argocd: { server: 'https://argocd.example.com', application: 'halow-staging' } },
        { branch: 'main', overlay: 'overlays/staging-eu', pinDigest: true },
        { branch: 'release/*', overlay: 'overlays/production/' },
        { branch: 'release/*', overlay: 'overlays/canary', approval: 'manual' },
      ],
    });
    expect(config.deployTargets).toEqual([
      {
        branch: 'main',
        overlay: 'overlays/staging',
        pinDigest: false,
        approval: 'none',
        url: 'https://halow.staging.example.com',
        argocd: { server: 'https://argocd.example.com', application: 'halow-staging' },
      },
      { branch: 'main', overlay: 'overlays/staging-eu', pinDigest: true, approval: 'none' },
      { branch: 'release/*', overlay: 'overlays/production', pinDigest: false, approval: 'manual' },
      { branch: 'release/*', overlay: 'overlays/canary', pinDigest: false, approval: 'manual' },
    ]);
    expect({ deploy: config.deployQueue, docker: config.dockerQueue, mutable: config.registry.allowMutable }).toEqual({ deploy: 'deploy', docker: 'ci', mutable: false });
    expect(deployTargetsFor('main', config.deployTargets).map((t) => t.overlay)).toEqual(['overlays/staging', 'overlays/staging-eu']);
  });

  it('stepGranularity: checks by default, target or project when asked, anything else named with what it accepts', () => {
    expect(parseWorkspaceConfig({}).stepGranularity).toBe('checks');
    expect(parseWorkspaceConfig({ stepGranularity: 'target' }).stepGranularity).toBe('target');
    expect(parseWorkspaceConfig({ stepGranularity: 'project' }).stepGranularity).toBe('project');
    expect(() => parseWorkspaceConfig({ stepGranularity: 'task' })).toThrow('engex.config.json: stepGranularity: expected one of checks, target, project, got "task"');
  });

  it('testEngine: off by default (the plugin fails a step on an agent without the token), a boolean when set', () => {
    expect(parseWorkspaceConfig({}).testEngine).toBe(false);
    expect(parseWorkspaceConfig({ testEngine: true }).testEngine).toBe(true);
    expect(() => parseWorkspaceConfig({ testEngine: 'yes' })).toThrow('engex.config.json: testEngine: expected true or false, got "yes"');
  });

  it('reports bad deploy gates, duplicate targets and a shared deploy queue with their paths', () => {
    let error: unknown;
    try {
      parseWorkspaceConfig({
        agents: { queue: 'builders' },
        deployQueue: 'builders',
        registry: { allowMutable: 'yes' },
        deployTargets: [
          { branch: 'main', overlay: 'overlays/staging', approval: 'maybe', url: 'ftp://x', argocd: { server: 'https://a' } },
          { branch: 'main', overlay: 'overlays/staging' },
        ],
      });
    } catch (e) {
      error = e;
    }
    expect((error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'deployQueue: must differ from agents.queue ("builders"): pull-request code must never run on the agents that hold ECR-push and ops-write credentials',
      'registry.allowMutable: expected true or false, got "yes"',
      'deployTargets[0].approval: expected one of none, manual, got "maybe"',
      'deployTargets[0].url: expected an http:// or https:// URL such as https://halow.staging.example.com, got "ftp://x"',
      'deployTargets[0].argocd.application: is required',
      'deployTargets[1]: duplicates deployTargets[0] (branch "main", overlay "overlays/staging"): remove one',
    ]);
  });

  it("takes licenses only as a valid SPDX expression (npm's UNLICENSED is not one)", () => {
    expect(DEFAULT_WORKSPACE_CONFIG.licenses).toBe('LicenseRef-Proprietary');
    expect(isSpdxExpression(DEFAULT_WORKSPACE_CONFIG.licenses)).toBe(true);
    expect(parseWorkspaceConfig({ licenses: 'Apache-2.0 OR MIT' }).licenses).toBe('Apache-2.0 OR MIT');
    expect(() => parseWorkspaceConfig({ licenses: 'UNLICENSED' })).toThrow('licenses: expected an SPDX license expression such as LicenseRef-Proprietary or MIT, got "UNLICENSED"');
  });

  it('rejects a non-object document', () => {
    expect(() => parseWorkspaceConfig([])).toThrow(/expected a JSON object, got \[\]/);
  });
});

describe('resolveServiceConfig', () => {
  it('ignores projects without the service tag', () => {
    expect(resolveServiceConfig(DEFAULT_WORKSPACE_CONFIG, { ...halow, tags: [] })).toBeUndefined();
  });

  it('applies per-project overrides from nx.metadata.engex', () => {
    const service = resolveServiceConfig(DEFAULT_WORKSPACE_CONFIG, {
      ...halow,
      metadata: { engex: { port: 8080, repository: 'engex/halow/api', deployTargets: [{ branch: 'main', overlay: 'overlays/dev' }] } },
    });
    expect(service).toMatchObject({ port: 8080, repository: 'engex/halow/api', deployTargets: [{ branch: 'main', overlay: 'overlays/dev' }] });
  });

  it('deploys when the whole build is green unless deployWhen narrows it', () => {
    expect(resolveServiceConfig(DEFAULT_WORKSPACE_CONFIG, halow)?.deployWhen).toBe('build');
    expect(resolveServiceConfig(DEFAULT_WORKSPACE_CONFIG, { ...halow, metadata: { engex: { deployWhen: 'service' } } })?.deployWhen).toBe('service');
    expect(() => resolveServiceConfig(DEFAULT_WORKSPACE_CONFIG, { ...halow, metadata: { engex: { deployWhen: 'always' } } })).toThrow(
      'apps/halow/package.json: nx.metadata.engex.deployWhen: expected one of build, service, got "always"',
    );
  });

  it('names the package.json and path of a bad override', () => {
    expect(() => resolveServiceConfig(DEFAULT_WORKSPACE_CONFIG, { ...halow, metadata: { engex: { port: 70000, repository: 'Engex/Halow' } } })).toThrow(
      /apps\/halow\/package\.json: nx\.metadata\.engex\.repository: expected an ECR repository name[^\n]*\n.*nx\.metadata\.engex\.port: expected an integer from 1 to 65535, got 70000/s,
    );
  });
});

describe('deployTargetFor', () => {
  const targets = DEFAULT_WORKSPACE_CONFIG.deployTargets;
  it.each([
    ['main', 'overlays/staging'],
    ['release/2026.11', 'overlays/production'],
    ['release/a/b', undefined],
    ['feature/x', undefined],
    ['mainline', undefined],
  ])('%s deploys to %s', (branch, overlay) => {
    expect(deployTargetFor(branch, targets)?.overlay).toBe(overlay);
  });

  it.each([
    ['hotfix/**', 'hotfix/a/b', true],
    ['hotfix/**', 'hotfix', true],
    ['hotfix/*', 'hotfix/a/b', false],
    ['team-*/release', 'team-a/release', true],
    ['*', '.hidden', true],
    ['main', 'Main', false],
  ])('%s matches %s: %s (picomatch, as in the generator)', (branch, name, matches) => {
    expect(deployTargetFor(name, [{ branch, overlay: 'o', pinDigest: false, approval: 'none' }]) !== undefined).toBe(matches);
  });
});

describe('overlay paths are normalised before any rule (issue 18, attack 5)', () => {
  it.each([
    ['overlays/production/kustomization.yaml'],
    ['overlays/./production'],
    ['./overlays/production/'],
    ['overlays//production/Kustomization'],
    ['overlays/production/kustomization.yml'],
  ])('%s is overlays/production and needs approval', (overlay) => {
    expect(normalizeOverlay(overlay)).toBe('overlays/production');
    const config = parseWorkspaceConfig({ deployTargets: [{ branch: 'release/*', overlay }] });
    expect(config.deployTargets).toEqual([{ branch: 'release/*', overlay: 'overlays/production', pinDigest: false, approval: 'manual' }]);
  });

  it('two spellings of one overlay are a duplicate', () => {
    expect(() =>
      parseWorkspaceConfig({
        deployTargets: [
          { branch: 'main', overlay: 'overlays/staging' },
          { branch: 'main', overlay: './overlays/staging/' },
        ],
      }),
    ).toThrow('deployTargets[1]: duplicates deployTargets[0] (branch "main", overlay "overlays/staging")');
  });

  it('an overlay that normalises to nothing is an error', () => {
    expect(() => parseWorkspaceConfig({ deployTargets: [{ branch: 'main', overlay: './' }] })).toThrow(
      'deployTargets[0].overlay: expected a relative folder such as overlays/staging, got "./"',
    );
  });
});

describe("a service's package.json only narrows the deploy policy (issue 18, attack 6)", () => {
  const resolve = (engex: Record<string, unknown>) => resolveServiceConfig(DEFAULT_WORKSPACE_CONFIG, { ...halow, metadata: { engex } });

  it('rejects a branch pattern the workspace does not deploy, naming the file, the value and what is allowed', () => {
    expect(() => resolve({ deployTargets: [{ branch: '**', overlay: 'overlays/production', approval: 'none' }] })).toThrow(
      'apps/halow/package.json: nx.metadata.engex.deployTargets[0].branch: "**" is not a deploy branch of engex.config.json: a service may only narrow the workspace\'s deploy policy; use one of "main", "release/*"',
    );
  });

  it('rejects approval "none" where the workspace requires approval, whatever the overlay spelling', () => {
    expect(() => resolve({ deployTargets: [{ branch: 'release/*', overlay: 'overlays/./production/kustomization.yaml', approval: 'none' }] })).toThrow(
      'apps/halow/package.json: nx.metadata.engex.deployTargets[0].approval: "none" widens the workspace\'s deploy policy: engex.config.json requires approval "manual" for branch "release/*" to "overlays/production"',
    );
    // Any overlay of a branch the workspace gates: the service cannot move production elsewhere without approval.
    expect(() => resolve({ deployTargets: [{ branch: 'release/*', overlay: 'overlays/prod-eu', approval: 'none' }] })).toThrow('approval: "none" widens');
  });

  it('keeps narrowing: fewer branches, more approval', () => {
    expect(resolve({ deployTargets: [{ branch: 'main', overlay: 'overlays/staging', approval: 'manual' }] })?.deployTargets).toEqual([
      { branch: 'main', overlay: 'overlays/staging', pinDigest: false, approval: 'manual' },
    ]);
    expect(resolve({ deployTargets: [{ branch: 'release/*', overlay: 'overlays/prod-eu' }] })?.deployTargets[0]?.approval).toBe('manual');
  });

  it("rejects another service's repository or ops repo", () => {
    expect(() =>
      resolveServiceConfig(DEFAULT_WORKSPACE_CONFIG, { name: '@engex/evil', root: 'apps/evil', tags: ['engex:service'], metadata: { engex: { repository: 'engex/halow' } } }),
    ).toThrow(
      'apps/evil/package.json: nx.metadata.engex.repository: "engex/halow" is outside the workspace\'s naming pattern: a service may only push to "engex/evil" or a repository under "engex/evil/"',
    );
    expect(() =>
      resolveServiceConfig(DEFAULT_WORKSPACE_CONFIG, {
        name: '@engex/evil',
        root: 'apps/evil',
        tags: ['engex:service'],
        metadata: { engex: { opsRepo: 'https://github.com/highspot/halow-ops.git' } },
      }),
    ).toThrow(
      'apps/evil/package.json: nx.metadata.engex.opsRepo: "https://github.com/highspot/halow-ops.git" is outside the workspace\'s naming pattern "https://github.com/highspot/{service}-ops.git": this service may only deploy through "https://github.com/highspot/evil-ops.git"',
    );
    expect(resolve({ repository: 'engex/halow', opsRepo: 'https://github.com/highspot/{service}-ops.git' })?.opsRepo).toBe('https://github.com/highspot/halow-ops.git');
  });
});

describe('decideTrust', () => {
  const config = DEFAULT_WORKSPACE_CONFIG;
  it.each([
    [{ branch: 'main' }, 'trusted'],
    [{ branch: 'release/2026.12' }, 'trusted'],
    [{ branch: 'trunk' }, 'trusted'],
    [{ branch: 'feature/x' }, 'untrusted'],
    [{ branch: 'main', pullRequest: 7 }, 'untrusted'],
    [{ branch: 'v1.2.3', tag: 'v1.2.3' }, 'untrusted'],
    [{}, 'untrusted'],
  ])('%j is %s (default: default branch plus deploy target branches)', (input, zone) => {
    expect(decideTrust(config, { defaultBranch: 'trunk', ...input }).zone).toBe(zone);
  });

  it('says why', () => {
    expect(decideTrust(config, { defaultBranch: 'main', branch: 'main', pullRequest: 12 }).reason).toBe('pull request #12: pull-request code is unreviewed');
    expect(decideTrust(config, { defaultBranch: 'main', branch: 'feature/x' }).reason).toBe('branch "feature/x" matches no trusted branch ("main", "release/*")');
  });

  it('an explicit trustedBranches replaces the default', () => {
    const only = parseWorkspaceConfig({ trustedBranches: ['main', 'v*'] });
    expect(decideTrust(only, { defaultBranch: 'main', branch: 'release/1' }).zone).toBe('untrusted');
    expect(decideTrust(only, { defaultBranch: 'main', branch: 'v1.2.3', tag: 'v1.2.3' }).zone).toBe('trusted');
  });

  it('the untrusted queue differs from every trusted queue', () => {
    expect(() => parseWorkspaceConfig({ untrustedQueue: 'default' })).toThrow(
      'untrustedQueue: must differ from agents.queue ("default"): untrusted code must never run on an agent that holds a push, deploy or cache-write secret',
    );
    expect(() => parseWorkspaceConfig({ dockerQueue: 'docker', untrustedQueue: 'docker' })).toThrow('untrustedQueue: must differ from dockerQueue ("docker")');
    expect(() => parseWorkspaceConfig({ trustedBranches: [] })).toThrow('trustedBranches: expected a non-empty array');
  });
});
