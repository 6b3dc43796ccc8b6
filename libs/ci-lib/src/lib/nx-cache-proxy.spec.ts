import { afterEach, describe, expect, it } from 'vitest';
import { makeNxArchive } from '../testing/nx-archive.js';
import { startFaultServer, type FaultServer } from '../testing/fault-server.js';
import { TransportError } from './http-request.js';
import { decideGet, decidePut, parseDegradedEvents, renderDegradedAnnotation, startNxCacheProxy, type DegradedEvent, type NxCacheProxy } from './nx-cache-proxy.js';

const ok = (status: number, body: Buffer = Buffer.alloc(0)) => ({ status, headers: {}, body });

describe('what Nx is told (decideGet, decidePut)', () => {
  it('passes what Nx accepts and turns everything else into a miss or "stored"', () => {
    const archive = makeNxArchive();
    expect(decideGet(ok(200, archive))).toEqual({ kind: 'pass', status: 200, body: archive });
    expect(decideGet(ok(404))).toEqual({ kind: 'pass', status: 404 });
    expect(decideGet(ok(200, Buffer.from('<html>')))).toEqual({ kind: 'degrade', reason: 'not an Nx archive (not gzip)', trip: false });
    expect(decideGet(ok(403))).toMatchObject({ kind: 'degrade', reason: "HTTP 403 (token refused: rotated, or not this queue's token?)" });
    expect(decideGet(new TransportError('ECONNREFUSED', 'x'))).toEqual({ kind: 'degrade', reason: 'unreachable (ECONNREFUSED)', trip: true });
    expect(decideGet(new TransportError('EDEADLINE', 'x'))).toEqual({ kind: 'degrade', reason: 'no answer within the deadline', trip: true });
    expect([200, 202, 409, 403].map((s) => decidePut(ok(s)))).toEqual([
      { kind: 'pass', status: 200 },
      { kind: 'pass', status: 200 },
      { kind: 'pass', status: 409 },
      { kind: 'pass', status: 403 },
    ]);
    expect(decidePut(ok(507))).toEqual({ kind: 'degrade', reason: 'HTTP 507 (cache storage full)', trip: false });
    expect(decidePut(ok(401))).toMatchObject({ kind: 'degrade' });
  });
});

describe('startNxCacheProxy', () => {
  let fault: FaultServer | undefined;
  let proxy: NxCacheProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    await fault?.close();
    proxy = fault = undefined;
  });

  it('stops asking an upstream that missed its deadline for the cooldown, and answers at once', async () => {
    fault = await startFaultServer({ behaviours: [{ kind: 'hang' }], lifetimeMs: 10_000 });
    const events: DegradedEvent[] = [];
    let now = 0;
    proxy = await startNxCacheProxy({ upstream: fault.url, answerDeadlineMs: 300, cooldownMs: 60_000, now: () => now, onDegraded: (e) => events.push(e) });
    expect((await fetch(`${proxy.url}/v1/cache/1`)).status).toBe(404);
    expect((await fetch(`${proxy.url}/v1/cache/2`)).status).toBe(404);
    expect((await fetch(`${proxy.url}/v1/cache/2`, { method: 'PUT', body: makeNxArchive() })).status).toBe(200);
    expect(fault.requests).toHaveLength(1);
    now = 60_001;
    expect((await fetch(`${proxy.url}/v1/cache/3`)).status).toBe(404);
    expect(fault.requests).toHaveLength(2);
    expect(events.map((e) => `${e.method} ${e.hash} ${e.reason}`)).toEqual([
      'GET 1 no answer within the deadline',
      'GET 2 skipped: upstream down (no answer within the deadline)',
      'PUT 2 skipped: upstream down (no answer within the deadline)',
      'GET 3 no answer within the deadline',
    ]);
  });

  it("forwards Nx's token and a 202 from an older server becomes the 200 Nx needs", async () => {
    fault = await startFaultServer({ behaviours: [{ kind: 'ok', status: 202 }] });
    proxy = await startNxCacheProxy({ upstream: `${fault.url}/` });
    const put = await fetch(`${proxy.url}/v1/cache/abc`, { method: 'PUT', body: makeNxArchive(), headers: { Authorization: 'Bearer agent-token-0123456789' } });
    expect(put.status).toBe(200);
    expect(fault.requests[0]).toMatchObject({ method: 'PUT', url: '/v1/cache/abc', headers: { authorization: 'Bearer agent-token-0123456789' } });
  });

  it('listens on loopback only', async () => {
    await expect(startNxCacheProxy({ upstream: 'http://cache', host: '0.0.0.0' })).rejects.toThrow(/loopback only/);
  });
});

describe('the annotation', () => {
  it('groups by reason, and reads the events file even with a torn last line', () => {
    const text = [
      JSON.stringify({ method: 'GET', hash: '1', answered: 404, reason: 'HTTP 500' }),
      JSON.stringify({ method: 'PUT', hash: '1', answered: 200, reason: 'HTTP 500' }),
      JSON.stringify({ method: 'GET', hash: '2', answered: 404, reason: 'unreachable (ECONNREFUSED)' }),
      '{"method":"GET","ha',
    ].join('\n');
    expect(renderDegradedAnnotation(parseDegradedEvents(text))).toMatchInlineSnapshot(`
      "**Nx remote cache unavailable for 3 requests**: the build went on without it (misses ran the tasks, results were not shared).

      | reason | reads answered as a miss | uploads skipped |
      | --- | --- | --- |
      | HTTP 500 | 1 | 1 |
      | unreachable (ECONNREFUSED) | 1 | 0 |
      "
    `);
    expect(renderDegradedAnnotation([])).toBe('');
  });
});
