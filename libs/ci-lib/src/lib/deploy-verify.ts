import { EXIT_CODES, UsageError, errorKind } from './errors.js';
import { httpRequest, type HttpResponse } from './http-request.js';
import type { Secret } from './secret.js';

/** One look at one source of truth; `detail` is what a human needs to see when the deadline passes. */
export interface Observation {
  source: 'version' | 'readyz' | 'argocd';
  ok: boolean;
  detail: string;
}

export interface ArgoCdTarget {
  /** ArgoCD's base URL, e.g. https://argocd.example.com. */
  server: string;
  application: string;
  /** From the environment (ARGOCD_AUTH_TOKEN); never printed. */
  token: Secret;
  /** The ops-repo commit the bump pushed: Synced must be at this revision. Omitted: any Synced revision. */
  opsCommit?: string;
}

export interface VerifyDeploymentOptions {
  /** The environment's base URL (deployTargets[].url); its /version and /readyz are polled. */
  url?: string;
  /** The source commit that must be served. */
  revision: string;
  argocd?: ArgoCdTarget;
  /** Overall deadline. Default 10 minutes. */
  deadlineMs?: number;
  /** Pause between rounds. Default 5 s. */
  intervalMs?: number;
  /**
   * Consecutive rounds in which every source must agree. Default 3: during a rollout old and new
   * pods answer behind one Service, and one lucky answer proves nothing.
   */
  agreeRounds?: number;
  /** Per request; never beyond the overall deadline. Default 10 s. */
  requestTimeoutMs?: number;
  get?: (url: URL, headers: Record<string, string>, timeoutMs: number) => Promise<HttpResponse>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  log?: (line: string) => void;
}

export interface VerifyResult {
  /** Rounds polled in all. */
  rounds: number;
  /** The consecutive agreeing rounds that ended the wait. */
  agreed: number;
  elapsedMs: number;
  observations: Observation[];
}

/** The deadline passed before every source agreed that the new revision is live. */
export class DeployVerifyError extends errorKind('DEPLOY_NOT_VERIFIED', EXIT_CODES.checkFailed) {
  constructor(
    readonly revision: string,
    readonly waitedMs: number,
    readonly last: readonly Observation[],
    readonly agreed = 0,
    readonly needed = 1,
  ) {
    super(
      `The deploy of ${revision} was not verified within ${Math.round(waitedMs / 1000)} s (${agreed} of ${needed} consecutive agreeing rounds). Last answers:\n` +
        last.map((o) => `  ${o.ok ? 'ok  ' : 'FAIL'} ${o.source}: ${o.detail}`).join('\n') +
        '\nThe ops repo already holds the bump: check the rollout (ArgoCD, kubectl rollout status) before retrying this step.',
    );
  }
}

const shortBody = (body: Buffer): string => {
  const text = body.toString('utf8').replace(/\s+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 197)}...` : text || '(empty body)';
};

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

const field = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((v, key) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined), value);

/** Pure: does /version say the new revision is served? */
export function judgeVersion(res: HttpResponse, revision: string): Observation {
  if (res.status !== 200) return { source: 'version', ok: false, detail: `HTTP ${res.status}: ${shortBody(res.body)}` };
  const served = field(parseJson(res.body), 'revision');
  if (typeof served !== 'string') return { source: 'version', ok: false, detail: `no revision in ${shortBody(res.body)}` };
  return served === revision ? { source: 'version', ok: true, detail: `serves ${served}` } : { source: 'version', ok: false, detail: `serves ${served}, waiting for ${revision}` };
}

/** Pure: is the service ready? */
export function judgeReadyz(res: HttpResponse): Observation {
  return res.status === 200 ? { source: 'readyz', ok: true, detail: 'HTTP 200' } : { source: 'readyz', ok: false, detail: `HTTP ${res.status}: ${shortBody(res.body)}` };
}

/** Pure: is the ArgoCD Application Synced (at the ops commit, when known) and Healthy? */
export function judgeArgoCd(res: HttpResponse, opsCommit?: string): Observation {
  if (res.status !== 200) return { source: 'argocd', ok: false, detail: `HTTP ${res.status}: ${shortBody(res.body)}` };
  const app = parseJson(res.body);
  const sync = field(app, 'status', 'sync', 'status');
  const at = field(app, 'status', 'sync', 'revision');
  const health = field(app, 'status', 'health', 'status');
  const detail = `sync ${String(sync ?? 'unknown')} at ${String(at ?? 'unknown')}, health ${String(health ?? 'unknown')}`;
  const synced = sync === 'Synced' && (opsCommit === undefined || at === opsCommit);
  return { source: 'argocd', ok: synced && health === 'Healthy', detail: opsCommit !== undefined && at !== opsCommit ? `${detail}, waiting for ${opsCommit}` : detail };
}

const MIN_ROUND_MS = 100;

const defaultGet = (url: URL, headers: Record<string, string>, timeoutMs: number) => httpRequest(url, { method: 'GET', headers, timeoutMs, maxBodyBytes: 1 << 20 });

/**
 * Polls until every configured source says the new revision is live: the service's /version
 * reports it and /readyz is 200, and ArgoCD reports the application Synced at the ops commit and
 * Healthy. Transport errors count as "not yet"; only the overall deadline ends the wait.
 */
export async function verifyDeployment(options: VerifyDeploymentOptions): Promise<VerifyResult> {
  if (options.url === undefined && options.argocd === undefined) throw new UsageError('nothing to verify: give the environment URL (deployTargets[].url) or an ArgoCD application');
  const deadlineMs = options.deadlineMs ?? 600_000;
  const intervalMs = options.intervalMs ?? 5_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const agreeRounds = options.agreeRounds ?? 3;
  if (!Number.isInteger(agreeRounds) || agreeRounds < 1) throw new UsageError(`agreeRounds must be a whole number of at least 1, got ${agreeRounds}`);
  const get = options.get ?? defaultGet;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const log = options.log ?? (() => {});
  const start = now();
  const remaining = () => deadlineMs - (now() - start);

  const look = async (source: Observation['source'], url: URL, headers: Record<string, string>, judge: (res: HttpResponse) => Observation): Promise<Observation> => {
    try {
      return judge(await get(url, headers, Math.max(1, Math.min(requestTimeoutMs, remaining()))));
    } catch (error) {
      return { source, ok: false, detail: (error as Error).message };
    }
  };

  let last: Observation[] = [];
  let agreed = 0;
  for (let round = 1; ; round++) {
    // A round started with almost no time left would only report its own timeouts.
    if (round > 1 && remaining() < MIN_ROUND_MS) throw new DeployVerifyError(options.revision, now() - start, last, agreed, agreeRounds);
    const observations: Observation[] = [];
    if (options.url !== undefined) {
      const base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
      observations.push(await look('version', new URL('version', base), { accept: 'application/json' }, (res) => judgeVersion(res, options.revision)));
      observations.push(await look('readyz', new URL('readyz', base), {}, judgeReadyz));
    }
    if (options.argocd !== undefined) {
      const { server, application, token, opsCommit } = options.argocd;
      const url = new URL(`api/v1/applications/${encodeURIComponent(application)}`, server.endsWith('/') ? server : `${server}/`);
      observations.push(await look('argocd', url, { accept: 'application/json', authorization: `Bearer ${token.reveal()}` }, (res) => judgeArgoCd(res, opsCommit)));
    }
    const elapsedMs = now() - start;
    // Any disagreeing round starts the count again.
    agreed = observations.every((o) => o.ok) ? agreed + 1 : 0;
    if (agreed >= agreeRounds) return { rounds: round, agreed, elapsedMs, observations };
    last = observations;
    if (remaining() <= 0) throw new DeployVerifyError(options.revision, elapsedMs, observations, agreed, agreeRounds);
    if (agreed > 0) log(`live in round ${round} (${agreed}/${agreeRounds} in a row); asking again`);
    else
      log(
        `not live yet (${Math.round(elapsedMs / 1000)} s): ${observations
          .filter((o) => !o.ok)
          .map((o) => `${o.source} ${o.detail}`)
          .join('; ')}`,
      );
    await sleep(Math.min(intervalMs, Math.max(0, remaining())));
  }
}
