import type { EcrRepositoryFacts } from './ecr-credentials.js';
import { ECR_LOCALS_FILE, renderEcrLocal } from './ecr-terraform.js';
import type { ExitCode } from './errors.js';
import { escapeControl } from './terminal-text.js';

/** What the registry said about the service's repository, read by the CLI. */
export type RepositoryFacts =
  | { kind: 'ecr'; account: string; region: string; host: string; repository: string; facts: EcrRepositoryFacts }
  /** `tags` undefined: the registry does not know the repository (404 on the tags list). */
  | { kind: 'plain'; host: string; repository: string; tags: number | undefined };

export interface EcrCheckOptions {
  /** A MUTABLE repository is a warning instead of an error. Default false: our idempotent push relies on IMMUTABLE tags. */
  allowMutable: boolean;
  /** Key of the Terraform map entry: the service name, as the service generator writes it. */
  service: string;
  /** The service's source URL, as the service generator writes it. */
  source: string;
}

export type CheckLevel = 'ok' | 'note' | 'warning' | 'error';

export interface EcrCheckFinding {
  level: CheckLevel;
  message: string;
}

export interface EcrCheckResult {
  /** Where it looked, e.g. `engex/halow in account 460210468233, region us-east-1`. */
  subject: string;
  findings: EcrCheckFinding[];
  /** Set when the repository is missing on ECR: the line to add and the file it goes in. */
  terraform?: { file: string; line: string };
  /** 0 passed (warnings allowed), 1 a check failed (MUTABLE), 2 the repository is missing. */
  exitCode: ExitCode;
}

/**
 * Pure: the verdict on a repository. Missing is exit 2 (configuration: the Terraform line was not
 * applied), MUTABLE exit 1 unless allowed. Scan-on-push off is a warning: every image is already
 * gated by the pipeline's own Trivy scan before it can deploy, so ECR's scan is the second opinion
 * that keeps re-scanning stored images, not the gate; failing every build of a service over it
 * would block deploys without making them safer.
 */
export function planEcrCheck(facts: RepositoryFacts, options: EcrCheckOptions): EcrCheckResult {
  const findings: EcrCheckFinding[] = [];
  if (facts.kind === 'plain') {
    findings.push({ level: 'ok', message: `${facts.host} answers the distribution API (GET /v2/)` });
    findings.push(
      facts.tags === undefined
        ? { level: 'note', message: `${facts.repository} has no tags yet; a plain registry creates the repository on the first push` }
        : { level: 'ok', message: `${facts.repository} exists with ${facts.tags} tag${facts.tags === 1 ? '' : 's'}` },
    );
    findings.push({ level: 'note', message: 'tag mutability cannot be read through the distribution API: not checked (ECR enforces IMMUTABLE)' });
    findings.push({ level: 'note', message: 'scan on push is an ECR feature: not checked on a plain registry' });
    return { subject: `${facts.repository} on plain registry ${facts.host}`, findings, exitCode: 0 };
  }

  const subject = `${facts.repository} in account ${facts.account}, region ${facts.region} (${facts.host})`;
  if (!facts.facts.exists) {
    const terraform = { file: ECR_LOCALS_FILE, line: renderEcrLocal(options.service, options.source) };
    findings.push({
      level: 'error',
      message:
        `repository ${facts.repository} does not exist in account ${facts.account}, region ${facts.region}; ` +
        `the image push would fail. Add the line below to the engex section of ${terraform.file} in the Terraform repo and apply it`,
    });
    return { subject, findings, terraform, exitCode: 2 };
  }
  findings.push({ level: 'ok', message: `repository exists: ${facts.facts.uri}` });
  const { mutability, scanOnPush } = facts.facts;
  if (mutability === 'IMMUTABLE') findings.push({ level: 'ok', message: 'tag mutability is IMMUTABLE' });
  else {
    findings.push({
      level: options.allowMutable ? 'warning' : 'error',
      message:
        `tag mutability is ${mutability}: the idempotent push relies on IMMUTABLE tags (a rebuilt commit could silently replace a scanned image). ` +
        `Set mutable = "IMMUTABLE" for ${options.service} in ${ECR_LOCALS_FILE}` +
        (options.allowMutable ? ' (allowed by --allow-mutable)' : ', or pass --allow-mutable to accept it as a warning'),
    });
  }
  findings.push(
    scanOnPush
      ? { level: 'ok', message: 'scan on push is on' }
      : {
          level: 'warning',
          message: "scan on push is off: ECR will not re-scan stored images; the pipeline Trivy gate still scans every build. Turn it on in the repository's Terraform",
        },
  );
  return { subject, findings, exitCode: findings.some((f) => f.level === 'error') ? 1 : 0 };
}

const WIDTH = 7;

/** Pure: the plain-text report, one line per finding. */
export function renderEcrCheckText(result: EcrCheckResult): string {
  const lines = [`ecr check ${result.subject}`, ...result.findings.map((f) => `${f.level.padEnd(WIDTH)}  ${f.message}`)];
  if (result.terraform) lines.push('', `    ${result.terraform.line}`, '');
  // The subject and findings carry repository names and URIs the registry or AWS returned.
  return `${lines.map(escapeControl).join('\n')}\n`;
}

const ICON: Record<CheckLevel, string> = { ok: ':white_check_mark:', note: ':information_source:', warning: ':warning:', error: ':x:' };

/** Pure: a Buildkite annotation (`buildkite-agent annotate --style error|warning|success`). */
export function renderEcrCheckMarkdown(result: EcrCheckResult): string {
  const worst = result.findings.some((f) => f.level === 'error') ? 'failed' : result.findings.some((f) => f.level === 'warning') ? 'passed with warnings' : 'passed';
  const lines = [`### ECR check ${worst}`, '', `\`${escapeControl(result.subject)}\``, '', ...result.findings.map((f) => `- ${ICON[f.level]} ${escapeControl(f.message)}`)];
  if (result.terraform) lines.push('', `In \`${result.terraform.file}\`:`, '', '```hcl', result.terraform.line, '```');
  return `${lines.join('\n')}\n`;
}
