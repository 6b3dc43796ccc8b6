import type { EngexCiCall, ImageRef, StepCommand, TrivyTarget } from './pipeline.js';

/**
 * The one place typed step commands become programs and shell text: `invocation` gives the
 * argument vector (what a process receives, what a local runner executes), `renderShellCommand`
 * the line Buildkite runs.
 */

/** Characters that never need quoting in a POSIX shell word. */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One argv token as a shell word. Anything beyond the plain set is single-quoted, where the shell
 * expands nothing (`$`, backticks, `\`, newlines are literal); a `'` becomes `'\''`.
 */
export function quoteShellArg(token: string): string {
  if (PLAIN.test(token)) return token;
  return `'${token.replaceAll("'", `'\\''`)}'`;
}

/** The shell variable that carries a deferred failure to the end of the step. */
export const DEFERRED_STATUS = 'ENGEX_DEFERRED_STATUS';

/** Holds a failed command's status while its failure annotation is written. */
export const FAILED_STATUS = 'ENGEX_FAILED_STATUS';

/** A program to run: argument vector and checkout-relative redirections. */
export interface Invocation {
  argv: readonly string[];
  /**
   * Indices of argv tokens that begin with a checkout-relative path the shell makes absolute
   * (`"$PWD"/…`): a container bind mount needs one, and the agent's checkout is known only there.
   */
  inCheckout?: readonly number[];
  stdin?: string;
  stdout?: string;
}

/** `registry/repository:tag`. */
export function imageReference(image: ImageRef): string {
  return `${image.registry}/${image.repository}:${image.tag}`;
}

/** Where the Trivy container sees the SBOM it scans (bind-mounted read-only). */
export const CONTAINER_SBOM = '/sbom/sbom.cdx.json';

/**
 * Arguments after `trivy` (the image reference or SBOM file last); the Trivy container and a local
 * `trivy` binary take the same. The gate is engex-ci's, so Trivy itself always exits 0 and only reports.
 */
export function trivyArgs(target: TrivyTarget): string[] {
  const subject = target.target === 'image' ? imageReference(target.image) : target.sbom;
  return [target.target, '--format', 'json', '--quiet', '--scanners', 'vuln', '--exit-code', '0', subject];
}

/** The npm install a fresh agent needs. */
const INSTALL = ['npm', 'ci', '--no-audit', '--no-fund'] as const;

/**
 * Present when node_modules is a complete install: npm writes its hidden lockfile last, after
 * every package and build script, and the dependency cache restores a whole tarball saved after
 * a passed install of the same lockfile. A fresh checkout has no node_modules (Buildkite's
 * default `git clean -ffxdq` removes it on a reused agent too), so with the marker present the
 * install is skipped: `npm ci` would delete the restored tree and install it again.
 */
export const INSTALL_MARKER = 'node_modules/.package-lock.json';

export function engexCiArgs(call: EngexCiCall): string[] {
  switch (call.command) {
    case 'image build':
      return ['image', 'build', '--project', call.project, ...(call.sourceDateEpoch !== undefined ? ['--source-date-epoch', call.sourceDateEpoch] : [])];
    case 'image smoke':
      return ['image', 'smoke', '--project', call.project];
    case 'image push':
      return ['image', 'push', '--project', call.project, ...(call.digestFile !== undefined ? ['--digest-file', call.digestFile] : [])];
    case 'ecr check':
      return ['ecr', 'check', '--project', call.project, '--annotation', call.annotation, ...(call.allowMutable ? ['--allow-mutable'] : [])];
    case 'scan report':
      return [
        'scan',
        'report',
        call.report,
        ...(call.sbomReport !== undefined ? ['--sbom-report', call.sbomReport] : []),
        '--fail-on',
        call.failOn.join(','),
        ...(call.ignoreUnfixed ? ['--ignore-unfixed'] : []),
        '--annotation',
        call.annotation,
      ];
    case 'deploy bump':
      return [
        'deploy',
        'bump',
        '--repo',
        call.repo,
        '--overlay',
        call.overlay,
        '--image',
        call.image,
        '--tag',
        call.tag,
        '--project',
        call.project,
        '--digest-file',
        call.digestFile,
        ...(call.pinDigest ? ['--pin-digest'] : []),
        ...(call.opsCommitFile !== undefined ? ['--ops-commit-file', call.opsCommitFile] : []),
      ];
    case 'deploy verify':
      return [
        'deploy',
        'verify',
        ...(call.url !== undefined ? ['--url', call.url] : []),
        '--revision',
        call.revision,
        ...(call.argocd ? ['--argocd-server', call.argocd.server, '--argocd-app', call.argocd.application] : []),
        ...(call.opsCommitFile !== undefined ? ['--ops-commit-file', call.opsCommitFile] : []),
        '--timeout',
        call.timeout,
      ];
  }
}

/** Commands are immutable and shared between steps (setup, engex-ci builds): spell each out once. */
const invocations = new WeakMap<StepCommand, Invocation>();
const lines = new WeakMap<StepCommand, string>();

export function invocation(command: StepCommand): Invocation {
  let run = invocations.get(command);
  if (!run) invocations.set(command, (run = spellOut(command)));
  return run;
}

function spellOut(command: StepCommand): Invocation {
  switch (command.kind) {
    case 'install':
      return { argv: INSTALL };
    case 'nx':
      return {
        argv: [...command.nx, 'run', `${command.project}:${command.target}`, '--outputStyle=static', ...(command.args?.length ? ['--', ...command.args] : [])],
      };
    case 'nx-run-many':
      return { argv: [...command.nx, 'run-many', '--targets', command.targets.join(','), '--projects', command.project, '--outputStyle=static'] };
    case 'engex-ci':
      return { argv: [...command.bin, ...engexCiArgs(command.call)] };
    case 'annotate':
      return {
        argv: [
          'buildkite-agent',
          'annotate',
          '--style',
          command.style,
          '--context',
          command.context,
          ...(command.append ? ['--append'] : []),
          ...(command.body !== undefined ? [command.body] : []),
        ],
        ...(command.bodyFile !== undefined ? { stdin: command.bodyFile } : {}),
      };
    case 'pull':
      return { argv: ['docker', 'pull', '--quiet', imageReference(command.image)] };
    case 'artifact-download':
      return { argv: ['buildkite-agent', 'artifact', 'download', command.path, '.', '--step', command.step] };
    case 'trivy': {
      const cache = ['-v', 'engex-trivy-cache:/root/.cache/trivy'];
      if (command.target === 'image') {
        return {
          argv: ['docker', 'run', '--rm', '-v', '/var/run/docker.sock:/var/run/docker.sock', ...cache, command.containerImage, ...trivyArgs(command)],
          stdout: command.report,
        };
      }
      // Only the SBOM file, read-only: the scan needs nothing else from the checkout or the host.
      return {
        argv: ['docker', 'run', '--rm', '-v', `${command.sbom}:${CONTAINER_SBOM}:ro`, ...cache, command.containerImage, ...trivyArgs({ target: 'sbom', sbom: CONTAINER_SBOM })],
        inCheckout: [4],
        stdout: command.report,
      };
    }
    case 'meta-data':
      return command.op === 'set'
        ? { argv: ['buildkite-agent', 'meta-data', 'set', command.key], stdin: command.file }
        : { argv: ['buildkite-agent', 'meta-data', 'get', command.key], stdout: command.file };
    case 'exec':
      return {
        argv: command.argv,
        ...(command.stdin !== undefined ? { stdin: command.stdin } : {}),
        ...(command.stdout !== undefined ? { stdout: command.stdout } : {}),
      };
  }
}

function defersFailure(command: StepCommand): boolean {
  return (command.kind === 'engex-ci' || command.kind === 'nx' || command.kind === 'nx-run-many') && command.deferFailure === true;
}

/** A command as one shell line: quoted argv, then redirections. */
export function renderShellCommand(command: StepCommand): string {
  let line = lines.get(command);
  if (line === undefined) lines.set(command, (line = shellLine(command)));
  return line;
}

function shellLine(command: StepCommand): string {
  if (command.kind === 'install') return `test -f ${quoteShellArg(INSTALL_MARKER)} || ${invocation(command).argv.map(quoteShellArg).join(' ')}`;
  const { argv, inCheckout, stdin, stdout } = invocation(command);
  let line = argv.map((token, i) => (inCheckout?.includes(i) ? `"$PWD"/${quoteShellArg(token)}` : quoteShellArg(token))).join(' ');
  if (stdin !== undefined) line += ` < ${quoteShellArg(stdin)}`;
  if (stdout !== undefined) line += ` > ${quoteShellArg(stdout)}`;
  if (defersFailure(command)) line += ` || ${DEFERRED_STATUS}=$?`;
  const onFailure = command.kind === 'engex-ci' ? command.annotateOnFailure : undefined;
  if (onFailure) {
    const annotate = renderShellCommand({ kind: 'annotate', style: 'error', context: onFailure.context, bodyFile: onFailure.file });
    line += ` || { ${FAILED_STATUS}=$?; ${annotate}; exit "$${FAILED_STATUS}"; }`;
  }
  return line;
}

/**
 * A step's commands as the lines Buildkite runs with `set -e`. A deferred failure lets the rest
 * (e.g. the annotation of a failed scan gate) run, then fails the step with the same status.
 */
export function renderShellCommands(commands: readonly StepCommand[]): string[] {
  const lines = commands.map(renderShellCommand);
  if (commands.some(defersFailure)) lines.push(`exit "\${${DEFERRED_STATUS}:-0}"`);
  return lines;
}
