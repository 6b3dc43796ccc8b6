import { describe, expect, it } from 'vitest';
import { redact, redactingWriter, secretsFromEnv } from './redact.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('redact', () => {
  it.each([
    [
      'URL userinfo',
      "fatal: unable to access 'https://x-access-token:ghp_s3cretS3cretS3cretS3cretS3cret1234@github.com/o/ops.git/'",
      "fatal: unable to access 'https://***@github.com/o/ops.git/'",
    ],
    ['a user without password', 'cloning ssh://deploy@git.example.com/ops.git', 'cloning ssh://***@git.example.com/ops.git'],
    ['query tokens', 'GET https://h/p?a=1&token=abc123&access_token=zzz', 'GET https://h/p?a=1&token=***&access_token=***'],
    [
      'S3 signatures',
      'https://b.s3.amazonaws.com/x?X-Amz-Credential=AKIDEXAMPLE%2F2026&X-Amz-Signature=deadbeef&X-Amz-Date=1',
      'https://b.s3.amazonaws.com/x?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Date=1',
    ],
    ['an Authorization header line', 'Authorization: Basic QVdTOnNlY3JldA==\r\nHost: h', 'Authorization: ***\r\nHost: h'],
    ['headers as JSON', '{"authorization":"Bearer eyJhbGciOi.x.y","cookie":"sid=42","accept":"*/*"}', '{"authorization":"***","cookie":"***","accept":"*/*"}'],
    ['a bare bearer token', 'sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig to h', 'sent Bearer *** to h'],
    ['docker config auth', '{"auths":{"h":{"auth":"QVdTOnNlY3JldA=="}}}', '{"auths":{"h":{"auth":"***"}}}'],
    ['--password values', 'docker login --password hunter22 -u AWS h', 'docker login --password *** -u AWS h'],
    ['docker login -p', 'docker login -u AWS -p hunter22 h', 'docker login -u AWS -p *** h'],
    ['AWS key ids', 'key AKIAIOSFODNN7EXAMPLE used', 'key *** used'],
    ['AWS secret keys by name', 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'aws_secret_access_key = ***'],
    ['a bare AWS secret key', 'secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY leaked', 'secret *** leaked'],
    ['GitHub tokens on their own', 'token ghp_abcdefghijklmnopqrstuvwxyz0123456789 here', 'token *** here'],
    // Help text may name the scheme before a placeholder; a real value after the scheme is still hidden.
    ['a Bearer header with a value', 'Authorization: Bearer abcdefghijklmnop', 'Authorization: ***'],
    ['a Bearer header with a short value', 'authorization: bearer s3cr', 'authorization: ***'],
    ['a header whose value starts like a placeholder word', 'Authorization: Bearerish-token-1234', 'Authorization: ***'],
    ['a cookie header', 'Cookie: session=abc; theme=dark', 'Cookie: ***'],
    ['raw registry auth JSON', 'X-Registry-Auth: {"username":"u","password":"hunter22"}', 'X-Registry-Auth: ***"username":"u","password":"***"}'],
  ])('hides %s', (_name, input, expected) => expect(redact(input)).toBe(expected));

  it.each([
    ['git shas and digests', `commit=${SHA} sha256:${'a'.repeat(64)}`],
    ['prose about credentials', 'Basic credentials were rejected; run docker login --password-stdin'],
    ['plain URLs and flags', 'bumped overlays/staging/kustomization.yaml in https://github.com/o/ops.git (main); mkdir -p /x'],
    ['help naming the header and scheme', 'Tokens (Authorization: Bearer): ENGEX_NX_CACHE_WRITE_TOKEN may read and write'],
    ['help with a placeholder', 'send `Authorization: Bearer <token>` or Authorization: [token]'],
    ['an already redacted header', 'Authorization: ***'],
  ])('leaves %s alone', (_name, input) => expect(redact(input)).toBe(input));

  it('hides known values and their base64 form', () => {
    expect(redact('a=plainsecret b=cGxhaW5zZWNyZXQ=', { known: ['plainsecret'] })).toBe('a=*** b=***');
  });
});

describe('secretsFromEnv', () => {
  it('takes values of secret-looking names only', () => {
    const secrets = { GITHUB_TOKEN: 'tok-123456', AWS_SECRET_ACCESS_KEY: 'abcdefgh', SLACK_WEBHOOK_URL: 'https://hooks/x' };
    // Not secrets: names that say nothing of one, and a value too short to be one.
    const others = { GIT_AUTHOR_NAME: 'engex-ci', PATH: '/usr/bin', SHORT_TOKEN: 'abc' };
    expect(secretsFromEnv({ ...secrets, ...others })).toEqual(Object.values(secrets));
  });
});

describe('redactingWriter', () => {
  it('redacts a token split across chunks, and passes a \\r progress line on without waiting for \\n', () => {
    const out: string[] = [];
    const w = redactingWriter((t) => out.push(t), ['s3cr3t-value']);
    w.write('token=s3cr');
    expect(out).toEqual([]);
    w.write('3t-value\n50%\r');
    expect(out).toEqual(['token=***\n50%\r']);
    w.write('tail s3cr3t-value');
    w.flush();
    expect(out.at(-1)).toBe('tail ***');
  });
});
