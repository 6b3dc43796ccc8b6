/**
 * The one redaction pass every line engex-ci prints goes through (main's writers, error messages
 * that embed URLs, child-process output). It works on shapes, not on known values, so a secret
 * nobody told us about (a token in a repo URL, a signed S3 link in git's error) is still hidden;
 * `known` adds literal values (e.g. from env) for secrets with no recognisable shape.
 */

export const MASK = '***';

const QUERY_KEYS = [
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'private_token',
  'client_secret',
  'password',
  'passwd',
  'secret',
  'api_key',
  'apikey',
  'sig',
  'signature',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'awsaccesskeyid',
];

const HEADER_NAMES = 'authorization|proxy-authorization|cookie|set-cookie|x-amz-security-token|x-registry-auth|private-token';

const RULES: readonly [RegExp, string][] = [
  // scheme://user:token@host → scheme://***@host (git, registry and token-service URLs).
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@'"<>]+@/gi, `$1${MASK}@`],
  [new RegExp(`([?&;](?:${QUERY_KEYS.join('|')})=)[^&\\s#'"<>]*`, 'gi'), `$1${MASK}`],
  // Header lines and JSON/inspect forms: `Authorization: Basic ...`, `"cookie":"..."`, `authorization='...'`.
  // Everything after the colon is hidden, except a value that only names the scheme before a
  // placeholder or punctuation: help text such as `Authorization: Bearer <token>` or
  // `(Authorization: Bearer): ...` carries no credential and must stay readable.
  [
    new RegExp(`(["']?)\\b(${HEADER_NAMES})\\1(\\s*[:=]\\s*)(["']?)(?!\\s*(?:(?:bearer|basic|digest|negotiate|token)\\b\\s*)?(?:[<()[\\]]|\\*\\*\\*))[^\\r\\n"']+`, 'gi'),
    `$1$2$1$3$4${MASK}`,
  ],
  // A digit or base64 punctuation tells a credential from prose such as "Basic credentials".
  [/\b(Bearer|Basic)\s+(?=[A-Za-z0-9._~+/=-]*[0-9+/=])[A-Za-z0-9._~+/=-]{6,}/g, `$1 ${MASK}`],
  // Docker config JSON (`"auth": "<base64 user:pass>"`) and the other credential fields it holds.
  [/("(?:auth|password|identitytoken|registrytoken|secret|token)"\s*:\s*")[^"]*"/gi, `$1${MASK}"`],
  // `docker login --password x` / `-p x`; `--password-stdin` is left alone.
  [/(--password(?:=|\s+))(?!-)\S+/g, `$1${MASK}`],
  [/(docker\s+login\b[^\n]*?\s-p\s+)(?!-)\S+/g, `$1${MASK}`],
  // AWS credentials: key ids by their prefix, secrets and session tokens by their variable/field name.
  [/\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}\b/g, MASK],
  [/\b(aws_secret_access_key|aws_session_token|secretaccesskey|sessiontoken|secret_access_key)(["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]+/gi, `$1$2${MASK}`],
  // A bare 40-character secret access key: mixed case plus a digit or / or +, so git shas stay readable.
  [/(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g, MASK],
  // Provider tokens recognisable on their own (GitHub, GitLab, Slack, Buildkite).
  [/\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|bkua_[A-Za-z0-9]{20,})\b/g, MASK],
];

export interface RedactOptions {
  /** Literal values to hide wherever they appear (and their base64 form); values under 6 characters are ignored. */
  known?: readonly string[];
}

/** Pure: `text` with every credential shape and every known value replaced by `***`. */
export function redact(text: string, options: RedactOptions = {}): string {
  let out = text;
  for (const value of options.known ?? []) {
    if (value.length < 6) continue;
    for (const form of [value, Buffer.from(value).toString('base64')]) out = out.split(form).join(MASK);
  }
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out;
}

// Whole name parts only: GIT_AUTHOR_NAME must not make "engex-ci" a secret.
const SECRET_ENV = /(^|_)(SECRETS?|TOKEN|PASSWORD|PASSWD|CREDENTIALS?|AUTH|APIKEY|WEBHOOK(_URL)?)(_|$)|(ACCESS|API|PRIVATE|SECRET)_KEY/i;

/** Pure: the values of env variables whose names say they hold a secret, for `redact`'s `known`. */
export function secretsFromEnv(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.entries(env)
    .filter((entry): entry is [string, string] => SECRET_ENV.test(entry[0]) && typeof entry[1] === 'string' && entry[1].length >= 6)
    .map(([, value]) => value);
}

/**
 * A writer that redacts whole lines: streamed child output (docker build progress) arrives in
 * arbitrary chunks, and a token split across two chunks would match no pattern. A partial line
 * waits for its end (a newline, or a carriage return: progress lines redraw with `\r` and must not
 * stall) or for `flush`. Every engex executable's `main` wraps its stdout and stderr in it.
 */
export function redactingWriter(write: (text: string) => void, known: readonly string[]): { write: (text: string) => void; flush: () => void } {
  let pending = '';
  return {
    write: (text) => {
      pending += text;
      const end = Math.max(pending.lastIndexOf('\n'), pending.lastIndexOf('\r'));
      if (end === -1) return;
      write(redact(pending.slice(0, end + 1), { known }));
      pending = pending.slice(end + 1);
    },
    flush: () => {
      if (pending !== '') write(redact(pending, { known }));
      pending = '';
    },
  };
}
