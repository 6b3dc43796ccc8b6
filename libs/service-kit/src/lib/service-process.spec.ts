import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ServiceBundleMissingError, serviceBundle, type ServiceBundle } from './service-process.js';

// Stand-in "bundles": plain node scripts, so these tests pin the harness itself. The real
// service bundle is exercised by each service's main.spec.ts.
const dir = mkdtempSync(join(tmpdir(), 'engex-service-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bundles: ServiceBundle[] = [];
afterEach(() => bundles.splice(0).forEach((b) => b.killAll()));

function script(name: string, source: string): ServiceBundle {
  const file = join(dir, `${name}.cjs`);
  writeFileSync(file, source);
  const bundle = serviceBundle({ bundle: file, project: '@engex/fixture' });
  bundles.push(bundle);
  return bundle;
}

const log = (record: string) => `process.stdout.write(JSON.stringify(${record}) + '\\n')`;

describe('serviceBundle', () => {
  it('gives the process HOST, PORT and the given env, nothing inherited', async () => {
    const server = script('env', `${log(`{ msg: 'env', env: process.env }`)};`).run({ PORT: '4000', APP_VERSION: '1.2.3' });
    expect(await server.exited).toBe(0);
    expect(server.logs).toEqual([{ msg: 'env', env: { HOST: '127.0.0.1', PORT: '4000', APP_VERSION: '1.2.3' } }]);
    expect(server.port).toBe(4000);
  });

  it('resolves `exited` only once stdout is closed, so every line is in `logs`', async () => {
    // A grandchild holding stdout past the exit makes "exited but not fully read" certain.
    const server = script(
      'late-writer',
      `require('node:child_process').spawn(process.execPath, ['-e', "setTimeout(() => process.stdout.write('{\\"msg\\":\\"late\\"}\\\\n'), 100)"], { stdio: ['ignore', 'inherit', 'ignore'] }).unref();
      ${log(`{ msg: 'early' }`)};`,
    ).run();
    expect(await server.exited).toBe(0);
    expect(server.logs).toEqual([{ msg: 'early' }, { msg: 'late' }]);
  });

  it('rejects waitForLog with the exit code and stderr when the process exits first', async () => {
    const server = script('crash', `process.stderr.write('PORT is bad\\n'); process.exit(3);`).run();
    await expect(server.waitForLog('Server listening at')).rejects.toThrow('exited with 3 before logging "Server listening at"; stderr: PORT is bad');
  });

  it('starts again on a new port when another process took the free one before the bind', async () => {
    // The first process "loses the race" (exits with EADDRINUSE, as Node words it); a marker file
    // makes only the first attempt fail, so the test shows start() moved on to a second port.
    const marker = join(dir, 'lost-race');
    const server = await script(
      'port-race',
      `const fs = require('node:fs');
      if (!fs.existsSync(${JSON.stringify(marker)})) {
        fs.writeFileSync(${JSON.stringify(marker)}, process.env.PORT);
        process.stderr.write('listen EADDRINUSE: address already in use 127.0.0.1:' + process.env.PORT + '\\n');
        process.exit(1);
      }
      require('node:http').createServer().listen(Number(process.env.PORT), process.env.HOST, () => ${log(`{ msg: 'Server listening at ' + process.env.PORT }`)});`,
    ).start();
    const lost = Number(readFileSync(marker, 'utf8'));
    expect(server.logs).toEqual([{ msg: `Server listening at ${server.port}` }]);
    expect(server.port).not.toBe(lost);
  });

  it('does not retry a port the caller chose, nor any other failure', async () => {
    const taken = script('taken', `process.stderr.write('listen EADDRINUSE: address already in use\\n'); process.exit(1);`);
    await expect(taken.start({ PORT: '4001' })).rejects.toThrow('exited with 1 before logging "Server listening at"; stderr: listen EADDRINUSE');
    const other = script('other', `process.stderr.write('PORT is bad\\n'); process.exit(2);`);
    await expect(other.start()).rejects.toThrow('exited with 2 before logging "Server listening at"; stderr: PORT is bad');
  });

  it('starts on a free port, and holds a slow request in flight until it is finished', async () => {
    const server = await script(
      'echo',
      `const http = require('node:http');
      const server = http.createServer((req, res) => {
        ${log(`{ msg: 'request started ' + req.url }`)};
        let body = '';
        req.on('data', (c) => (body += c)).on('end', () => res.end(req.method + ' ' + req.url + ' ' + body));
      });
      server.listen(Number(process.env.PORT), process.env.HOST, () => ${log(`{ msg: 'Server listening at http://' + process.env.HOST + ':' + process.env.PORT }`)});
      process.on('SIGTERM', () => server.close());`,
    ).start();
    expect(server.port).toBeGreaterThan(0);
    expect(await server.get('/ping')).toEqual({ status: 200, body: 'GET /ping ' });
    const request = await server.slowRequest({ path: '/echo', json: { name: 'slow' } });
    let answered = false;
    void request.response.then(() => (answered = true));
    await server.waitForLog('request started /echo');
    // Half the body is still unsent, so the server cannot have answered yet.
    expect(answered).toBe(false);
    request.finish();
    expect(await request.response).toEqual({ status: 200, body: 'POST /echo {"name":"slow"}' });
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('says how to build the bundle when it is missing', () => {
    const bundle = serviceBundle({ bundle: join(dir, 'never-built.cjs'), project: '@engex/billing' });
    expect(() => bundle.run()).toThrowError(ServiceBundleMissingError);
    expect(() => bundle.run()).toThrowError('run `npx nx run @engex/billing:build` first');
  });
});
