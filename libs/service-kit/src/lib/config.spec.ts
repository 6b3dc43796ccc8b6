import { describe, expect, it } from 'vitest';
import { parseServiceConfig, readBuildInfo, type ServiceConfig } from './config.js';
import { ServiceConfigError } from './errors.js';

const parse = (env: Record<string, string | undefined>) => parseServiceConfig(env, { port: 3000 });

function issuesOf(env: Record<string, string | undefined>): ServiceConfigError {
  try {
    parse(env);
  } catch (error) {
    if (error instanceof ServiceConfigError) return error;
    throw error;
  }
  throw new Error('expected a ServiceConfigError');
}

describe('parseServiceConfig', () => {
  it('applies every default to an empty environment', () => {
    expect(parse({})).toEqual({
      port: 3000,
      host: '0.0.0.0',
      logLevel: 'info',
      shutdownTimeoutMs: 10_000,
      shutdownDelayMs: 0,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      build: { revision: 'unknown', created: 'unknown', source: 'unknown', buildUrl: 'unknown', version: 'unknown' },
    });
  });

  it('treats empty strings as unset (docker -e VAR= and unset build args)', () => {
    expect(parse({ PORT: '', HOST: '', LOG_LEVEL: '', SHUTDOWN_TIMEOUT_MS: '' }).port).toBe(3000);
  });

  it('reads valid values', () => {
    // Each variable, a valid value and what it sets; all set at once, as some bound others.
    const valid: [variable: string, value: string, field: keyof ServiceConfig, parsed: unknown][] = [
      ['PORT', '65535', 'port', 65535],
      ['HOST', '::', 'host', '::'],
      ['LOG_LEVEL', 'debug', 'logLevel', 'debug'],
      ['SHUTDOWN_TIMEOUT_MS', '2500', 'shutdownTimeoutMs', 2500],
      ['SHUTDOWN_DELAY_MS', '1000', 'shutdownDelayMs', 1000],
      ['HEADERS_TIMEOUT_MS', '500', 'headersTimeoutMs', 500],
      ['REQUEST_TIMEOUT_MS', '500', 'requestTimeoutMs', 500],
    ];
    const config = parse(Object.fromEntries(valid.map(([variable, value]) => [variable, value])));
    expect(config).toMatchObject(Object.fromEntries(valid.map(([, , field, parsed]) => [field, parsed])));
  });

  it.each([['HEADERS_TIMEOUT_MS'], ['REQUEST_TIMEOUT_MS']])('rejects %s=0 and non-numbers', (variable) => {
    expect(issuesOf({ [variable]: '0' }).issues.map((i) => i.variable)).toEqual([variable]);
    expect(issuesOf({ [variable]: '10s' }).issues.map((i) => i.variable)).toEqual([variable]);
  });

  it('rejects a request timeout shorter than the headers timeout, naming the variable that was set', () => {
    expect(issuesOf({ REQUEST_TIMEOUT_MS: '5000' }).issues).toEqual([
      {
        variable: 'REQUEST_TIMEOUT_MS',
        value: '5000',
        expected: 'at least HEADERS_TIMEOUT_MS (10000): the request includes its headers',
      },
    ]);
    expect(issuesOf({ HEADERS_TIMEOUT_MS: '60000' }).issues).toEqual([
      {
        variable: 'HEADERS_TIMEOUT_MS',
        value: '60000',
        expected: 'at most REQUEST_TIMEOUT_MS (30000): the request includes its headers',
      },
    ]);
  });

  it.each([['0'], ['65536'], ['70000'], ['-1'], ['3000.5'], [' 80'], ['abc'], ['1e3']])('rejects PORT=%j naming the variable and the allowed range', (value) => {
    const error = issuesOf({ PORT: value });
    expect(error.issues).toEqual([{ variable: 'PORT', value, expected: 'an integer from 1 to 65535' }]);
    expect(error.message).toContain(`PORT=${JSON.stringify(value)}: expected an integer from 1 to 65535`);
  });

  it('rejects a LOG_LEVEL outside the enum, listing the allowed levels', () => {
    expect(issuesOf({ LOG_LEVEL: 'loud' }).message).toContain('LOG_LEVEL="loud": expected one of fatal, error, warn, info, debug, trace, silent');
  });

  it('rejects a HOST with spaces or slashes', () => {
    expect(issuesOf({ HOST: 'http://x' }).issues[0]?.variable).toBe('HOST');
    expect(issuesOf({ HOST: 'a b' }).issues[0]?.variable).toBe('HOST');
  });

  it.each([['0'], ['-5'], ['ten'], ['2147483648']])('rejects SHUTDOWN_TIMEOUT_MS=%j', (value) => {
    expect(issuesOf({ SHUTDOWN_TIMEOUT_MS: value }).issues.map((i) => i.variable)).toEqual(['SHUTDOWN_TIMEOUT_MS']);
  });

  it('rejects a SHUTDOWN_DELAY_MS that the timeout would always cut short', () => {
    const error = issuesOf({ SHUTDOWN_TIMEOUT_MS: '1000', SHUTDOWN_DELAY_MS: '1000' });
    expect(error.issues).toEqual([
      {
        variable: 'SHUTDOWN_DELAY_MS',
        value: '1000',
        expected: 'less than SHUTDOWN_TIMEOUT_MS (1000), or the timeout would always force the exit',
      },
    ]);
  });

  it('lists every bad variable in one error, not only the first', () => {
    const bad = { PORT: '70000', HOST: 'not a host', LOG_LEVEL: 'verbose', SHUTDOWN_TIMEOUT_MS: '0', SHUTDOWN_DELAY_MS: 'soon' };
    const error = issuesOf(bad);
    expect(error.name).toBe('ServiceConfigError');
    expect(error.issues.map((i) => i.variable)).toEqual(Object.keys(bad));
    expect(error.message).toMatchInlineSnapshot(`
      "Invalid service configuration (5 problems):
        PORT="70000": expected an integer from 1 to 65535
        HOST="not a host": expected an IP address or hostname, e.g. 0.0.0.0, :: or localhost
        LOG_LEVEL="verbose": expected one of fatal, error, warn, info, debug, trace, silent
        SHUTDOWN_TIMEOUT_MS="0": expected a whole number of milliseconds from 1 to 2147483647
        SHUTDOWN_DELAY_MS="soon": expected a whole number of milliseconds from 0 to 2147483647
      Set the variables above to an allowed value (or unset them to use the default) and start again."
    `);
  });
});

describe('readBuildInfo', () => {
  it('reads the APP_* variables the image sets', () => {
    const info = { revision: 'abc123', created: '2024-01-02T03:04:05Z', source: 'https://example.com/repo', buildUrl: 'https://ci.example.com/builds/7', version: '1.2.3' };
    const env = { APP_REVISION: info.revision, APP_CREATED: info.created, APP_SOURCE: info.source, APP_BUILD_URL: info.buildUrl, APP_VERSION: info.version };
    expect(readBuildInfo(env)).toEqual(info);
  });

  it("says 'unknown' for unset or empty values", () => {
    expect(readBuildInfo({ APP_REVISION: '' }).revision).toBe('unknown');
  });
});
