import { describe, expect, it } from 'vitest';
import { readEcrCredentials, type EcrClientLike } from './ecr-credentials.js';
import { DeadlineExceededError, InfrastructureError, exitCodeFor } from './errors.js';

describe('readEcrCredentials', () => {
  it('ends at the deadline even when the client ignores the abort signal', async () => {
    let signal: AbortSignal | undefined;
    const stuck: EcrClientLike = {
      send: (_command, options) => {
        signal = options?.abortSignal;
        return new Promise(() => {});
      },
    };
    const error = await readEcrCredentials(stuck, { deadlineMs: 300, host: 'api.ecr.us-east-1.amazonaws.com' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect((error as Error).message).toMatch(/^ECR GetAuthorizationToken on api\.ecr\.us-east-1\.amazonaws\.com did not finish within its 0\.3 s deadline \(waited \d+\.\d s\)/);
    expect(exitCodeFor(error)).toBe(4);
    // The send never settles: only the deadline ends the call (else the test's timeout fails it).
    expect(signal?.aborted).toBe(true);
  });

  it('maps the SDK request timeout to the same deadline error', async () => {
    const timing: EcrClientLike = { send: async () => Promise.reject(Object.assign(new Error('Request timed out'), { name: 'TimeoutError' })) };
    await expect(readEcrCredentials(timing, { deadlineMs: 5000 })).rejects.toBeInstanceOf(DeadlineExceededError);
  });

  it('reports other SDK errors by name', async () => {
    const denied: EcrClientLike = { send: async () => Promise.reject(Object.assign(new Error('not allowed'), { name: 'AccessDeniedException' })) };
    const error = await readEcrCredentials(denied).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect(error).not.toBeInstanceOf(DeadlineExceededError);
    expect((error as Error).message).toContain('AccessDeniedException: not allowed');
  });
});
