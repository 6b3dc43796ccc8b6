import { EXIT_CODES, ManifestError, errorKind } from './errors.js';
import { redact } from './redact.js';
import { runCommand } from './run-command.js';

/** How to run `kustomize build`: kubectl's built-in copy or a standalone kustomize. */
export interface KustomizeRenderer {
  /** argv before the directory, e.g. `['kubectl', 'kustomize']`. */
  argv: readonly string[];
  /** What `version` said, for messages. */
  version: string;
}

/** Neither `kubectl` nor `kustomize` runs here: the bump cannot prove what it deploys. */
export class KustomizeMissingError extends errorKind('KUSTOMIZE_MISSING', EXIT_CODES.usage) {
  constructor(readonly tried: readonly string[]) {
    super(
      `deploy bump renders the overlay to prove the bump, but neither kubectl nor kustomize runs here (${tried.join('; ')}). ` +
        'Install kubectl (it ships kustomize) or kustomize on the deploy queue agents, or pass --skip-render to bump without that proof.',
    );
  }
}

/** `kustomize build` refused the overlay: what ArgoCD would refuse too. */
export class KustomizeRenderError extends ManifestError {}

const PROBE_MS = 15_000;

/** Finds a renderer: `kubectl kustomize` first (the deploy agents' documented tool), else `kustomize build`. */
export async function findKustomizeRenderer(env: NodeJS.ProcessEnv = process.env): Promise<KustomizeRenderer> {
  const tried: string[] = [];
  const candidates: Array<{ argv: string[]; probe: string[] }> = [
    { argv: ['kubectl', 'kustomize'], probe: ['kubectl', 'version', '--client'] },
    { argv: ['kustomize', 'build'], probe: ['kustomize', 'version'] },
  ];
  for (const { argv, probe } of candidates) {
    try {
      const res = await runCommand(probe[0]!, probe.slice(1), {
        env,
        allowFailure: true,
        deadline: { ms: PROBE_MS, error: () => new Error(`${probe.join(' ')} did not answer in ${PROBE_MS / 1000} s`) },
      });
      if (res.exitCode === 0) return { argv, version: (/Kustomize Version: (\S+)/.exec(res.stdout)?.[1] ?? res.stdout.trim().split('\n')[0]) || 'unknown' };
      tried.push(`${probe.join(' ')} exited ${res.exitCode}`);
    } catch (error) {
      const cause = (error as Error).cause as NodeJS.ErrnoException | undefined;
      tried.push(`${probe.join(' ')}: ${cause?.code === 'ENOENT' ? 'not found' : (error as Error).message.split('\n')[0]}`);
    }
  }
  throw new KustomizeMissingError(tried);
}

/**
 * `kustomize build <dir>` under a deadline. Its error is cut to its first line and redacted: a
 * YAML error from kustomize may quote a file, and only the offending line may be printed.
 */
export async function renderKustomization(renderer: KustomizeRenderer, dir: string, options: { env?: NodeJS.ProcessEnv; deadlineMs: number; label: string }): Promise<string> {
  const [command, ...args] = renderer.argv;
  const res = await runCommand(command!, [...args, dir], {
    env: options.env ?? process.env,
    allowFailure: true,
    deadline: {
      ms: options.deadlineMs,
      error: (waited) => new KustomizeRenderError(`${renderer.argv.join(' ')} ${options.label} did not finish within ${Math.round(waited / 1000)} s`),
    },
  });
  if (res.exitCode !== 0) {
    // kubectl prefixes klog's `E1204 19:17:19.630217   29846 run.go:72] ` to kustomize's message.
    const first = (res.stderr.trim().split('\n')[0] ?? '').replace(/^[EWIF]\d{4} [\d:.]+\s+\d+ \S+\] /, '');
    throw new KustomizeRenderError(`${renderer.argv.join(' ')} ${options.label} failed: ${redact(first.length > 300 ? `${first.slice(0, 297)}...` : first)}`);
  }
  return res.stdout;
}
