import type { FastifyInstance } from '@engex/service-kit';
import { createTestApp } from '@engex/service-kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { service } from './app.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('GET /hello', () => {
  it('greets by name', async () => {
    app = createTestApp(service);
    const res = await app.inject({ url: '/hello?name=x' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ message: 'hello, x' });
  });

  it.each([['Zoë'], ["d'Artagnan"], ['Mary-Jane Watson'], ['李'], ['a'.repeat(64)]])('accepts %j', async (name) => {
    app = createTestApp(service);
    const res = await app.inject({ url: '/hello', query: { name } });
    expect(res.json()).toEqual({ message: `hello, ${name}` });
  });

  it('answers a missing name with a 400 naming the field', async () => {
    app = createTestApp(service);
    const res = await app.inject({ url: '/hello' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: 'Bad Request',
      issues: [{ field: 'querystring.name', message: "must have required property 'name'" }],
    });
  });

  it.each([
    ['empty', '', 'must NOT have fewer than 1 characters'],
    ['too long', 'a'.repeat(65), 'must NOT have more than 64 characters'],
    ['markup', '<script>', 'must match pattern'],
  ])('refuses a %s name with a 400 naming the field', async (_case, name, message) => {
    app = createTestApp(service);
    const res = await app.inject({ url: '/hello', query: { name } });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues).toEqual([{ field: 'querystring.name', message: expect.stringContaining(message) }]);
  });
});

describe('POST /hello', () => {
  it('greets the name from a JSON body', async () => {
    app = createTestApp(service);
    const res = await app.inject({ method: 'POST', url: '/hello', payload: { name: 'ada' } });
    expect([res.statusCode, res.json()]).toEqual([200, { message: 'hello, ada' }]);
  });

  it('refuses a body without a name, naming the field', async () => {
    app = createTestApp(service);
    const res = await app.inject({ method: 'POST', url: '/hello', payload: { nom: 'ada' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues).toEqual([{ field: 'body.name', message: "must have required property 'name'" }]);
  });

  it('refuses a name that is not a JSON string instead of coercing it', async () => {
    app = createTestApp(service);
    const res = await app.inject({ method: 'POST', url: '/hello', payload: { name: 123 } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'body.name: must be string',
      issues: [{ field: 'body.name', message: 'must be string' }],
      requestId: res.headers['x-request-id'],
    });
  });
});

describe('the shared routes', () => {
  it('are mounted next to halow’s own', async () => {
    app = createTestApp(service);
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await app.inject({ url: '/version' })).json()).toMatchObject({ revision: 'unknown' });
    expect((await app.inject({ url: '/nope' })).statusCode).toBe(404);
  });
});
