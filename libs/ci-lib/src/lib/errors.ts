/**
 * ci-lib's domain failures (image, scan, deploy). Each is a small named class that carries its
 * data and says how to fix the problem; the base, the shared usage/config/input errors and the
 * exit-code table come from @engex/workspace-config, and engex-ci maps them in its one catch.
 */
import { EXIT_CODES, errorKind } from '@engex/workspace-config';
import { redact } from './redact.js';

export { ConfigError, EXIT_CODES, EngexError, InvalidInputError, UsageError, errorKind, exitCodeFor, type ConfigIssue, type ExitCode } from '@engex/workspace-config';

/** The two images of a tag conflict, one line each, as both conflict errors print them. */
function bothImages(registry: string, manifestDigest: string, local: { configDigest: string; revision: string }): string {
  return `  registry: manifest ${manifestDigest}, ${registry}\n  local:    image id ${local.configDigest}, revision ${local.revision}\n`;
}

/**
 * The registry already holds a different image under an IMMUTABLE tag. Nothing was pushed;
 * overwriting is impossible by design, so a human has to decide.
 */
export class ImmutableTagError extends errorKind('IMMUTABLE_TAG_CONFLICT', EXIT_CODES.conflict) {
  constructor(
    readonly reference: string,
    readonly remote: { manifestDigest: string; configDigest?: string; revision?: string },
    readonly local: { configDigest: string; revision: string },
  ) {
    super(
      `Immutable tag conflict: ${reference} already exists with a different image.\n` +
        bothImages(`image id ${remote.configDigest ?? 'unknown'}, revision label ${remote.revision ?? '(none)'}`, remote.manifestDigest, local) +
        'Nothing was pushed. The tag is the commit sha, so a different image under it means it was built from other ' +
        'content; find who pushed it before deleting anything, and never retag.',
    );
  }
}

/**
 * The registry holds another image under our tag whose labels claim this commit, and no trusted
 * build of this pipeline is proven to have pushed it. Labels are written by whoever pushes; a
 * digest nobody vouches for is never scanned, smoked or deployed as ours.
 */
export class UnprovenImageError extends errorKind('UNPROVEN_IMAGE', EXIT_CODES.conflict) {
  constructor(
    readonly reference: string,
    readonly remote: { manifestDigest: string; configDigest: string; claimedBuild: string },
    readonly local: { configDigest: string; revision: string },
  ) {
    super(
      `Unproven image: ${reference} already exists with a different image whose labels claim revision ${local.revision}.\n` +
        bothImages(`image id ${remote.configDigest}, claimed build ${remote.claimedBuild}`, remote.manifestDigest, local) +
        "No trusted build of this pipeline is recorded as its pusher (this build's meta-data, or a trusted build of this commit through " +
        "Buildkite's API), and labels prove nothing. Nothing was pushed, nothing adopted. Find who pushed that digest (registry audit log) before anything else.",
    );
  }
}

/** Docker, git, the registry or AWS failed or is unreachable. Usually worth a retry of the job. */
export class InfrastructureError extends errorKind('INFRASTRUCTURE', EXIT_CODES.infrastructure) {}

/** A registry answered with an error we do not retry, or kept failing after retries. */
export class RegistryError extends InfrastructureError {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A child process (docker, git) exited non-zero. `output` is its redacted tail. */
export class CommandFailedError extends InfrastructureError {
  constructor(
    readonly command: string,
    /** The child's exit status; null when a signal ended it. */
    readonly status: number | null,
    readonly output: string,
    options?: { cause?: unknown },
  ) {
    super(`${command} failed (exit ${status ?? 'signal'}):\n${output.trimEnd() || '(no output)'}`, options);
  }
}

/** The scan gate rejected the image. The annotation lists the failing findings. */
export class PolicyFailedError extends errorKind('POLICY_FAILED', EXIT_CODES.checkFailed) {}

/** The built image did not answer /healthz or reported the wrong revision. */
export class SmokeTestError extends errorKind('SMOKE_FAILED', EXIT_CODES.checkFailed) {}

/** A deploy manifest is missing, is not a kustomization, or cannot be edited unambiguously. */
export class ManifestError extends errorKind('MANIFEST_INVALID', EXIT_CODES.usage) {}

/** A Trivy JSON report that cannot be read or is not the schema we gate on: never a pass. */
export class ScanReportError extends errorKind('SCAN_REPORT_INVALID', EXIT_CODES.usage) {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(
      `${file} is not a usable Trivy report (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  ${p}`).join('\n') +
        '\nProduce it with `trivy image --format json --output <file>` (SchemaVersion 2).',
    );
  }
}

/**
 * The esbuild metafile or the lockfile cannot describe the bundle: no SBOM rather than a wrong one
 * (a package missing from the SBOM is a package the scan never sees).
 */
export class SbomInputError extends errorKind('SBOM_INPUT_INVALID', EXIT_CODES.usage) {
  constructor(readonly problems: readonly string[]) {
    super(
      `Cannot build the SBOM (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  ${p}`).join('\n') +
        '\nRebuild the bundle with `metafile: true` (npx nx run <project>:build) after `npm ci`, so the metafile and package-lock.json agree.',
    );
  }
}

/** `image build --built-sbom`: the SBOM the build job wrote is missing or is not this build's. */
export class BuiltSbomError extends errorKind('SBOM_BUILT_MISMATCH', EXIT_CODES.usage) {
  constructor(
    readonly file: string,
    readonly problem: string,
    project: string,
  ) {
    super(
      `--built-sbom: ${file}: ${problem}.\n` +
        `Write it after the bundle, in the same job and commit: npx nx run ${project}:build && engex-ci image sbom --project ${project}; ` +
        'or leave out --built-sbom to write it here (needs node_modules).',
    );
  }
}

/** The generated SBOM failed the CycloneDX schema: a bug in the generator, never shipped. */
export class SbomInvalidError extends errorKind('SBOM_SCHEMA_INVALID', EXIT_CODES.usage) {
  constructor(readonly details: unknown) {
    super(
      `The generated SBOM does not validate against the CycloneDX 1.6 schema: ${JSON.stringify(details)}. This is a bug in engex-ci's SBOM generator; report it with the metafile.`,
    );
  }
}

/** Seconds with one decimal, for messages: `12.0 s`. */
function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * A network operation (registry request, AWS call, git over the network) did not finish within its
 * overall deadline. Exit 4: the peer is slow or not answering, and a later retry may pass. The host
 * is redacted, so a URL with credentials can be passed as it is.
 */
export class DeadlineExceededError extends InfrastructureError {
  readonly host: string;
  constructor(
    readonly operation: string,
    host: string,
    readonly waitedMs: number,
    readonly deadlineMs: number,
    /** How to raise the deadline, e.g. `set ENGEX_CI_REGISTRY_DEADLINE (seconds)`. */
    override readonly hint: string,
    options?: { cause?: unknown },
  ) {
    const safeHost = redact(host);
    super(
      `${operation} on ${safeHost} did not finish within its ${seconds(deadlineMs)} deadline (waited ${seconds(waitedMs)}); ` +
        `the peer is slow or not answering. Check that ${safeHost} is reachable from this agent, or ${hint}.`,
      options,
    );
    this.host = safeHost;
  }
}

/**
 * The registry kept answering 429 or 503 (throttled, or briefly unavailable) after the bounded
 * retries, or asked us to wait longer than we will. `retryAfterMs` is what it last asked for.
 */
export class RegistryThrottledError extends RegistryError {
  constructor(
    message: string,
    status: number,
    readonly retryAfterMs?: number,
  ) {
    super(redact(message), status);
  }
}
