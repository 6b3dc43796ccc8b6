import type {
  DescribeImagesCommand,
  DescribeImagesCommandOutput,
  DescribeRepositoriesCommand,
  DescribeRepositoriesCommandOutput,
  GetAuthorizationTokenCommand,
  GetAuthorizationTokenCommandOutput,
} from '@aws-sdk/client-ecr';
import { DEFAULT_DEADLINES, deadlineHint } from './deadlines.js';
import { DeadlineExceededError, InfrastructureError } from './errors.js';
import type { RegistryCredentials } from './registry-transport.js';
import { Secret } from './secret.js';

/** The one method of the SDK's ECRClient we use, for the three commands we send; tests pass a fake object. */
export interface EcrClientLike {
  send(command: GetAuthorizationTokenCommand, options?: { abortSignal?: AbortSignal }): Promise<GetAuthorizationTokenCommandOutput>;
  send(command: DescribeRepositoriesCommand, options?: { abortSignal?: AbortSignal }): Promise<DescribeRepositoriesCommandOutput>;
  send(command: DescribeImagesCommand, options?: { abortSignal?: AbortSignal }): Promise<DescribeImagesCommandOutput>;
}

export interface EcrCredentials extends RegistryCredentials {
  /** When the token stops working (12 h after issue). */
  expiresAt?: Date;
}

export interface EcrClientOptions {
  /** Overall deadline of one call, the SDK's own attempts included. Default 30 s (`DEFAULT_DEADLINES.awsMs`). */
  deadlineMs?: number;
  /** Another endpoint, e.g. a VPC endpoint or a test server. Default: the SDK's (AWS_ENDPOINT_URL_ECR is honoured). */
  endpoint?: string;
  /** Static credentials for tests; production uses the SDK's default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** SDK attempts per call. Its default (3) is kept explicit so the bound is ours, not a library default. */
export const ECR_MAX_ATTEMPTS = 3;
/** Connecting to an AWS endpoint takes milliseconds; a peer that does not accept within this is down. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * The real SDK client, loaded lazily so commands that never talk to AWS do not pay for it. Without
 * a request handler of our own the SDK waits forever on an endpoint that accepts and never answers.
 */
export async function createEcrClient(region: string, options: EcrClientOptions = {}): Promise<EcrClientLike> {
  const [{ ECRClient }, { NodeHttpHandler }] = await Promise.all([import('@aws-sdk/client-ecr'), import('@smithy/node-http-handler')]);
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINES.awsMs;
  return new ECRClient({
    region,
    maxAttempts: ECR_MAX_ATTEMPTS,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: Math.min(CONNECT_TIMEOUT_MS, deadlineMs),
      // Per attempt, so the attempts together fit in the deadline readEcrCredentials enforces.
      requestTimeout: Math.max(1, Math.floor(deadlineMs / ECR_MAX_ATTEMPTS)),
      throwOnRequestTimeout: true,
    }),
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
  });
}

export interface ReadEcrCredentialsOptions {
  /** Overall deadline of the call. Default 30 s. */
  deadlineMs?: number;
  /** Named in a deadline error, e.g. `api.ecr.us-east-1.amazonaws.com`. */
  host?: string;
}

/**
 * GetAuthorizationToken returns base64("AWS:<password>"); the password is wrapped in a Secret at
 * once so no log line, error or JSON dump can show it. SDK errors are reported by name and
 * message only: they never carry the request's signed headers.
 */
export async function readEcrCredentials(client: EcrClientLike, options: ReadEcrCredentialsOptions = {}): Promise<EcrCredentials> {
  const { GetAuthorizationTokenCommand } = await import('@aws-sdk/client-ecr');
  const output = await sendWithDeadline(
    'ECR GetAuthorizationToken',
    (abortSignal) => client.send(new GetAuthorizationTokenCommand({}), { abortSignal }),
    options,
    (e) => `ECR GetAuthorizationToken failed: ${e.name}: ${e.message}\nCheck the agent's AWS credentials (role, region) and its ecr:GetAuthorizationToken permission.`,
  );
  if (output instanceof Error) throw output;
  const data = output.authorizationData?.[0];
  const token = data?.authorizationToken;
  if (!token) throw new InfrastructureError('ECR GetAuthorizationToken returned no authorization data');
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new InfrastructureError('ECR authorization token is not base64 "user:password"');
  return {
    username: decoded.slice(0, colon),
    password: new Secret(decoded.slice(colon + 1)),
    expiresAt: data.expiresAt,
  };
}

/**
 * One AWS call under one overall deadline (the SDK's own bounded attempts inside it). The race
 * bounds the wait even where the SDK does not watch the signal (credential providers). SDK errors
 * are reported by name and message only: they never carry the request's signed headers.
 */
async function sendWithDeadline<T>(
  operation: string,
  call: (signal: AbortSignal) => Promise<T>,
  options: ReadEcrCredentialsOptions,
  describeFailure: (error: Error) => string,
  /** Errors that are an answer, not a failure (e.g. RepositoryNotFoundException); returned as they are. */
  isAnswer: (error: Error) => boolean = () => false,
): Promise<T | Error> {
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINES.awsMs;
  const host = options.host ?? 'the ECR API';
  const started = Date.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new DeadlineExceededError(operation, host, Date.now() - started, deadlineMs, deadlineHint('awsMs')));
    }, deadlineMs);
  });
  try {
    return await Promise.race([call(controller.signal), expired]);
  } catch (error) {
    if (error instanceof DeadlineExceededError) throw error;
    const e = error as Error;
    if (e.name === 'TimeoutError' || e.name === 'AbortError' || controller.signal.aborted) {
      throw new DeadlineExceededError(operation, host, Date.now() - started, deadlineMs, deadlineHint('awsMs'), { cause: error });
    }
    if (isAnswer(e)) return e;
    throw new InfrastructureError(describeFailure(e));
  } finally {
    clearTimeout(timer);
    expired.catch(() => {});
  }
}

/** What DescribeRepositories says about one repository; `exists: false` is RepositoryNotFoundException. */
export type EcrRepositoryFacts = { exists: false } | { exists: true; uri: string; mutability: string; scanOnPush: boolean };

/** DescribeRepositories for one repository of the registry (account) `registryId`. */
export async function describeEcrRepository(client: EcrClientLike, registryId: string, repository: string, options: ReadEcrCredentialsOptions = {}): Promise<EcrRepositoryFacts> {
  const { DescribeRepositoriesCommand } = await import('@aws-sdk/client-ecr');
  const output = await sendWithDeadline(
    'ECR DescribeRepositories',
    (abortSignal) => client.send(new DescribeRepositoriesCommand({ registryId, repositoryNames: [repository] }), { abortSignal }),
    options,
    (e) => `ECR DescribeRepositories ${repository} failed: ${e.name}: ${e.message}\nCheck the agent's AWS credentials (role, region) and its ecr:DescribeRepositories permission.`,
    (e) => e.name === 'RepositoryNotFoundException',
  );
  if (output instanceof Error) return { exists: false };
  const repo = output.repositories?.find((r) => r.repositoryName === repository);
  if (!repo) return { exists: false };
  return {
    exists: true,
    uri: repo.repositoryUri ?? '',
    mutability: repo.imageTagMutability ?? 'UNKNOWN',
    scanOnPush: repo.imageScanningConfiguration?.scanOnPush === true,
  };
}

export interface EcrImageDetail {
  digest: string;
  tags: string[];
  sizeBytes?: number;
  pushedAt?: Date;
}

/** Pages of DescribeImages read at most: 1,000 images, enough to find the newest few. */
const MAX_IMAGE_PAGES = 10;

/**
 * DescribeImages of one repository (every page, up to 1,000 images). Undefined when the
 * repository does not exist.
 */
export async function describeEcrImages(
  client: EcrClientLike,
  registryId: string,
  repository: string,
  options: ReadEcrCredentialsOptions = {},
): Promise<EcrImageDetail[] | undefined> {
  const { DescribeImagesCommand } = await import('@aws-sdk/client-ecr');
  const images: EcrImageDetail[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_IMAGE_PAGES; page++) {
    const output = await sendWithDeadline(
      'ECR DescribeImages',
      (abortSignal) => client.send(new DescribeImagesCommand({ registryId, repositoryName: repository, maxResults: 100, ...(nextToken ? { nextToken } : {}) }), { abortSignal }),
      options,
      (e) => `ECR DescribeImages ${repository} failed: ${e.name}: ${e.message}\nCheck the agent's AWS credentials (role, region) and its ecr:DescribeImages permission.`,
      (e) => e.name === 'RepositoryNotFoundException',
    );
    if (output instanceof Error) return undefined;
    for (const d of output.imageDetails ?? []) {
      if (!d.imageDigest) continue;
      images.push({
        digest: d.imageDigest,
        tags: d.imageTags ?? [],
        sizeBytes: d.imageSizeInBytes,
        pushedAt: d.imagePushedAt,
      });
    }
    nextToken = output.nextToken;
    if (!nextToken) break;
  }
  return images;
}
