import { afterEach, describe, expect, it } from 'vitest';
import { createRegistryClient, nextPage } from './registry-client.js';
import { startFaultServer, type FaultServer } from '../testing/fault-server.js';

let server: FaultServer | undefined;
afterEach(async () => server?.close());

describe('nextPage', () => {
  it('follows a same-registry rel="next" link and nothing else', () => {
    expect(nextPage('</v2/engex/halow/tags/list?n=2&last=b>; rel="next"', 'http://127.0.0.1:5000')).toBe('/v2/engex/halow/tags/list?n=2&last=b');
    expect(nextPage(undefined, 'http://127.0.0.1:5000')).toBeUndefined();
    expect(nextPage('</v2/x/tags/list?last=b>; rel="prev"', 'http://127.0.0.1:5000')).toBeUndefined();
    expect(nextPage('<https://elsewhere.example/v2/x/tags/list>; rel="next"', 'http://127.0.0.1:5000')).toBeUndefined();
  });
});

describe('listTags', () => {
  it('reads every page, and undefined for a repository the registry does not know', async () => {
    server = await startFaultServer({
      behaviours: [
        {
          kind: 'ok',
          headers: { 'Content-Type': 'application/json', Link: '</v2/engex/halow/tags/list?n=2&last=b>; rel="next"' },
          body: '{"name":"engex/halow","tags":["a","b"]}',
        },
        { kind: 'ok', headers: { 'Content-Type': 'application/json' }, body: '{"name":"engex/halow","tags":["c"]}' },
        { kind: 'ok', status: 404, body: '{"errors":[{"code":"NAME_UNKNOWN"}]}' },
      ],
    });
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' } });
    expect(await client.listTags('engex/halow')).toEqual(['a', 'b', 'c']);
    expect(server.requests.map((r) => r.url)).toEqual(['/v2/engex/halow/tags/list?n=1000', '/v2/engex/halow/tags/list?n=2&last=b']);
    expect(await client.listTags('engex/none')).toBeUndefined();
  });

  it('retries a 503 through the one retry helper', async () => {
    server = await startFaultServer({
      behaviours: [
        { kind: 'status', status: 503 },
        { kind: 'ok', body: '{"tags":["x"]}' },
      ],
    });
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' }, retry: { sleep: async () => {} } });
    expect(await client.listTags('r')).toEqual(['x']);
    expect(server.requests).toHaveLength(2);
  });
});
