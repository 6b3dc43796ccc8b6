import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { describeNeeding, registryRequirement } from '../testing/requirements.js';
import { findFreePort, isAddressInUse, withFreePort } from './free-port.js';
import { startLocalRegistry } from './local-registry.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Binds 127.0.0.1:port, as the program a caller starts would (and drops every connection: it only holds the port). */
const listen = (port: number): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      servers.push(server);
      resolve(server);
    });
  });

/** A port another process holds: what findFreePort's answer can turn into before the bind. */
const heldPort = async (): Promise<number> => {
  const port = await findFreePort();
  await listen(port);
  return port;
};

/** Hands out `first`, then free ports, and records every port handed out. */
const ports = (first: number) => {
  const given: number[] = [];
  return { given, find: async () => (given.push(given.length === 0 ? first : await findFreePort()), given[given.length - 1]!) };
};

describe('withFreePort', () => {
  it('starts again on a new port when the first was taken before the bind', async () => {
    const held = await heldPort();
    const { given, find } = ports(held);
    const server = await withFreePort(listen, { find });
    expect(given).toHaveLength(2);
    expect(given[0]).toBe(held);
    expect(server.address()).toMatchObject({ port: given[1] });
  });

  it('gives up after `attempts` taken ports, with the bind error', async () => {
    const held = await heldPort();
    const error = await withFreePort(listen, { attempts: 2, find: async () => held }).catch((e: unknown) => e);
    expect(isAddressInUse(error)).toBe(true);
  });

  it('throws any other failure at once', async () => {
    let calls = 0;
    const error = await withFreePort(
      async () => {
        calls++;
        throw new Error('permission denied');
      },
      { attempts: 3 },
    ).catch((e: unknown) => e);
    expect((error as Error).message).toBe('permission denied');
    expect(calls).toBe(1);
  });

  it.each([
    ['Node', Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:5000'), { code: 'EADDRINUSE' }), true],
    ['Go (docker-registry)', new Error('listen tcp 127.0.0.1:5000: bind: address already in use'), true],
    ['busybox httpd', new Error('httpd: bind: Address already in use'), true],
    ['something else', new Error('connection refused'), false],
  ])('isAddressInUse reads %s wording', (_name, error, expected) => expect(isAddressInUse(error)).toBe(expected));
});

describeNeeding([registryRequirement()], 'startLocalRegistry on a port taken before the bind', () => {
  it('starts docker-registry again on a new port', async () => {
    const held = await heldPort();
    const { given, find } = ports(held);
    const registry = await startLocalRegistry({ findPort: find });
    try {
      expect(given).toHaveLength(2);
      expect(registry.host).toBe(`127.0.0.1:${given[1]}`);
    } finally {
      await registry.stop();
    }
  });
});
