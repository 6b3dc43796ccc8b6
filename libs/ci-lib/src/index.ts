// The public surface of @engex/ci-lib: what other packages import. Everything else (image,
// scan, deploy, the CLI) stays internal to the engex-ci executable; the config model, ECR naming
// and the shared errors live in @engex/workspace-config.

/** The local runner (`engex-pipeline run --local`) pushes its images to this registry. */
export { startLocalRegistry, type LocalRegistry } from './lib/local-registry.js';

/** The one way engex tools run a program: argv (no shell), an optional deadline, redacted output. */
export { runCommand } from './lib/run-command.js';

/**
 * A free TCP port on 127.0.0.1, for a container or server a tool starts itself; `withFreePort`
 * starts it again on a new port when another process took the first before the bind.
 */
export { findFreePort, withFreePort } from './lib/free-port.js';

/** Is there a Docker engine, with BuildKit? Asked the same way by engex-ci, the local runner and the e2e test. */
export { DOCKER_HELP, legacyBuilderEnv, probeDocker, type DockerStatus } from './lib/docker-probe.js';

/** The service generator prints the same Terraform line that `engex-ci ecr check` asks for. */
export { ECR_LOCALS_FILE, renderEcrLocal } from './lib/ecr-terraform.js';

/**
 * The shared network discipline, for the pipeline generator's Buildkite API and ops-repo reads:
 * one overall deadline per request, one retry loop, one redaction pass, one reader of what an overlay deploys.
 */
export { httpRequest } from './lib/http-request.js';
export { normalizeRetryOptions, withRetry, type RetryOptions } from './lib/retry.js';
export { RetryableStatus, sendWithRetry } from './lib/http-retry.js';
export { redact, redactingWriter, secretsFromEnv } from './lib/redact.js';
export { readDeployedTags, type DeployedTagQuery } from './lib/deployed-tags.js';
export type { Fact } from './lib/fact.js';
export { DEFAULT_DEADLINES, parseDeadlines, type Deadlines } from './lib/deadlines.js';
export { gitLowSpeedArgs } from './lib/ops-clone.js';

/**
 * Signal handling shared by the executables: undo actions (temp dirs, containers, the local
 * registry) that run on SIGINT/SIGTERM/SIGHUP, also on a second signal. A runner that handles
 * signals itself calls `runInterruptCleanups()` before it exits on one.
 */
export { runInterruptCleanups } from './lib/exit-cleanup.js';
