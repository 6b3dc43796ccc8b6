import type { GetAuthorizationTokenCommand, GetAuthorizationTokenCommandOutput } from '@aws-sdk/client-ecr';
import { InfrastructureError } from './errors.js';
import type { RegistryCredentials } from './registry-client.js';
import { Secret } from './secret.js';

/** The one method of the SDK's ECRClient we use; tests pass a fake object. */
export interface EcrClientLike {
  send(command: GetAuthorizationTokenCommand): Promise<GetAuthorizationTokenCommandOutput>;
}

export interface EcrCredentials extends RegistryCredentials {
  /** When the token stops working (12 h after issue). */
  expiresAt?: Date;
}

/** The real SDK client, loaded lazily so commands that never talk to AWS do not pay for it. */
export async function createEcrClient(region: string): Promise<EcrClientLike> {
  const { ECRClient } = await import('@aws-sdk/client-ecr');
  return new ECRClient({ region });
}

/**
 * GetAuthorizationToken returns base64("AWS:<password>"); the password is wrapped in a Secret at
 * once so no log line, error or JSON dump can show it. SDK errors are reported by name and
 * message only: they never carry the request's signed headers.
 */
export async function readEcrCredentials(client: EcrClientLike): Promise<EcrCredentials> {
  const { GetAuthorizationTokenCommand } = await import('@aws-sdk/client-ecr');
  let output: GetAuthorizationTokenCommandOutput;
  try {
    output = await client.send(new GetAuthorizationTokenCommand({}));
  } catch (error) {
    const e = error as Error;
    throw new InfrastructureError(
      `ECR GetAuthorizationToken failed: ${e.name}: ${e.message}\nCheck the agent's AWS credentials (role, region) and its ecr:GetAuthorizationToken permission.`,
    );
  }
  const data = output.authorizationData?.[0];
  const token = data?.authorizationToken;
  if (!token) throw new InfrastructureError('ECR GetAuthorizationToken returned no authorization data');
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new InfrastructureError('ECR authorization token is not base64 "user:password"');
  return {
    username: decoded.slice(0, colon),
    password: new Secret(decoded.slice(colon + 1)),
    ...(data.expiresAt ? { expiresAt: data.expiresAt } : {}),
  };
}
