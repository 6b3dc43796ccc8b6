import { afterEach, describe, expect, it } from 'vitest';
import { DeadlineExceededError, RegistryError } from './errors.js';
import { createRegistryClient } from './registry-client.js';
import { nextPage } from './registry-tags.js';
import { startFaultServer, type FaultBehaviour, type FaultServer } from '../testing/fault-server.js';

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

  /** Page k holds tag t<k> and links to the page after it: a registry that never runs out. */
  const endless = (pages: number): FaultBehaviour[] =>
    Array.from({ length: pages }, (_, i) => ({
      kind: 'ok' as const,
      headers: { 'Content-Type': 'application/json', Link: `</v2/r/tags/list?n=1000&last=t${i + 1}>; rel="next"` },
      body: JSON.stringify({ name: 'r', tags: [`t${i + 1}`] }),
    }));

  it('refuses an empty page that links to a next one (it cannot advance), after one request', async () => {
    server = await startFaultServer({
      behaviours: [{ kind: 'ok', headers: { 'Content-Type': 'application/json', Link: '</v2/r/tags/list?n=1000&last=>; rel="next"' }, body: '{"tags":[]}' }],
    });
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' } });
    const error = await client.listTags('r').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as Error).message).toBe(
      `tags list of r on ${server.host}: page 1 (/v2/r/tags/list?n=1000) has no tags but links to next /v2/r/tags/list?n=1000&last=; the registry's pagination does not advance`,
    );
    expect(server.requests).toHaveLength(1);
  });

  it('refuses a next link back to a page already read', async () => {
    server = await startFaultServer({
      behaviours: [
        { kind: 'ok', headers: { Link: '</v2/r/tags/list?n=1000&last=a>; rel="next"' }, body: '{"tags":["a"]}' },
        { kind: 'ok', headers: { Link: '</v2/r/tags/list?n=1000>; rel="next"' }, body: '{"tags":["b"]}' },
      ],
    });
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' } });
    await expect(client.listTags('r')).rejects.toThrow(
      `tags list of r on ${server.host}: page 2 links to next /v2/r/tags/list?n=1000, a page already read; the registry's pagination loops`,
    );
    expect(server.requests).toHaveLength(2);
  });

  it('reads at most maxPages pages of a listing that never ends', async () => {
    server = await startFaultServer({ behaviours: endless(20) });
    const client = createRegistryClient({ registry: { host: server.host, protocol: 'http' } });
    await expect(client.listTags('r', { maxPages: 5 })).rejects.toThrow(
      `tags list of r on ${server.host}: still a next page after 5 pages (5 tags), next /v2/r/tags/list?n=1000&last=t5; the registry's pagination does not end`,
    );
    expect(server.requests).toHaveLength(5);
  });

  it('keeps the whole listing within the one deadline, not each page within its own', async () => {
    server = await startFaultServer({ behaviours: endless(20) });
    const srv = server;
    // Each page the registry serves costs 500 ms on this clock: the 1 s deadline allows two.
    const client = createRegistryClient({ registry: { host: srv.host, protocol: 'http' }, deadlineMs: 1000, retry: { now: () => srv.requests.length * 500 } });
    const error = await client.listTags('r').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect((error as Error).message).toContain('registry tags list of r (2 pages, next /v2/r/tags/list?n=1000&last=t2)');
    expect(srv.requests).toHaveLength(2);
  });
});
