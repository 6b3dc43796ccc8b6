import { describe, expect, it } from 'vitest';
import { ecrHostFor, parseEcrHost, validateRepositoryName } from './ecr.js';
import { InvalidInputError } from './errors.js';

describe('parseEcrHost', () => {
  it.each([
    ['460210468233.dkr.ecr.us-east-1.amazonaws.com', { account: '460210468233', region: 'us-east-1', fips: false, dualStack: false, china: false }],
    ['460210468233.dkr.ecr-fips.us-gov-west-1.amazonaws.com', { region: 'us-gov-west-1', fips: true, dualStack: false, china: false }],
    ['123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn', { region: 'cn-north-1', fips: false, china: true }],
    ['123456789012.dkr-ecr.eu-west-1.on.aws', { region: 'eu-west-1', dualStack: true, china: false }],
    ['123456789012.dkr-ecr-fips.us-east-2.on.aws', { region: 'us-east-2', dualStack: true, fips: true }],
    ['123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn', { region: 'cn-northwest-1', dualStack: true, china: true }],
    ['460210468233.DKR.ECR.US-EAST-1.AMAZONAWS.COM', { host: '460210468233.dkr.ecr.us-east-1.amazonaws.com' }],
  ])('accepts %s', (host, expected) => {
    expect(parseEcrHost(host)).toMatchObject(expected);
  });

  it.each([
    ['4602.dkr.ecr.us-east-1.amazonaws.com', 'account part "4602" is not a 12-digit AWS account id'],
    ['460210468233.dkr.ecs.us-east-1.amazonaws.com', 'service part "dkr.ecs" must be dkr.ecr or dkr.ecr-fips'],
    ['460210468233.dkr-ecr-x.us-east-1.on.aws', 'service part "dkr-ecr-x" must be dkr-ecr or dkr-ecr-fips'],
    ['460210468233.dkr.ecr.moon.amazonaws.com', 'region part "moon" is not an AWS region such as us-east-1'],
    ['460210468233.dkr.ecr.us-east-1.amazonaws.com.cn', 'region part "us-east-1" is not a China region (cn-*)'],
    ['460210468233.dkr.ecr.cn-north-1.amazonaws.com', 'region part "cn-north-1" is a China region'],
    ['registry.example.com', 'expected <12-digit account>.dkr.ecr.<region>.amazonaws.com'],
    ['dkr.ecr.us-east-1.amazonaws.com', 'account part "dkr" is not a 12-digit AWS account id'],
    ['', 'expected <12-digit account>'],
  ])('rejects %j naming the bad part', (host, message) => {
    expect(() => parseEcrHost(host)).toThrow(InvalidInputError);
    expect(() => parseEcrHost(host)).toThrow(message);
  });
});

describe('ecrHostFor', () => {
  it('builds the standard, FIPS, dual-stack and China hosts', () => {
    expect(ecrHostFor({ account: '460210468233', region: 'us-east-1' })).toBe('460210468233.dkr.ecr.us-east-1.amazonaws.com');
    expect(ecrHostFor({ account: '460210468233', region: 'us-east-1', fips: true })).toBe('460210468233.dkr.ecr-fips.us-east-1.amazonaws.com');
    expect(ecrHostFor({ account: '460210468233', region: 'eu-west-1', dualStack: true })).toBe('460210468233.dkr-ecr.eu-west-1.on.aws');
    expect(ecrHostFor({ account: '460210468233', region: 'cn-north-1' })).toBe('460210468233.dkr.ecr.cn-north-1.amazonaws.com.cn');
  });
});

describe('validateRepositoryName', () => {
  it.each(['engex/halow', 'ab', 'a/b/c', 'engex/halow-api', 'engex/halow_api.v2', 'a'.repeat(256)])('accepts %j', (name) => {
    expect(validateRepositoryName(name)).toBe(name);
  });

  it.each([
    ['a', 'must be 2-256 characters long, this is 1'],
    ['a'.repeat(257), 'must be 2-256 characters long, this is 257'],
    ['Engex/halow', 'segment "Engex" must be lowercase'],
    ['engex//halow', 'segment 2 is empty'],
    ['engex/halow/', 'segment 3 is empty'],
    ['engex/halow--api', 'segment "halow--api"'],
    ['engex/-halow', 'segment "-halow"'],
    ['engex/halow:1', 'segment "halow:1"'],
  ])('rejects %j', (name, message) => {
    expect(() => validateRepositoryName(name, 'nx.metadata.engex.repository')).toThrow(message);
    expect(() => validateRepositoryName(name, 'nx.metadata.engex.repository')).toThrow(/^nx\.metadata\.engex\.repository: /);
  });
});
