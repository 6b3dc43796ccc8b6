// Requests dropped when a pod is rolled: 100 keep-alive clients load the bundled halow, it gets
// SIGTERM, and every request is classified. Used by run.mjs; `node bench/halow-http/rollout.mjs`
// runs it alone (after `npx nx run @engex/halow:build`).
//
// A request FAILED when it was written to a socket and got no complete 200 (a reset, a hang-up, a
// 503, ...). A request never sent is not a failure: ECONNREFUSED (the listener is gone) or a
// client the balancer has moved to another pod. Clients follow `Connection: close` by opening a
// new connection, as Node's agent does.
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const HALOW = join(here, '..', '..', 'apps', 'halow', 'dist', 'main.cjs');
const PATH = '/hello?name=x';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A free 127.0.0.1 port; run.mjs uses this one too. */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * @param {object} options
 * @param {string} [options.bundle] default: apps/halow/dist/main.cjs
 * @param {string[]} [options.nodeFlags] node flags of the image's CMD
 * @param {number} options.delayMs SHUTDOWN_DELAY_MS
 * @param {number | null} options.deregisterAfterMs when, after SIGTERM, the balancer stops sending
 *   new connections here (clients then count as moved); null: no balancer, clients always come back
 * @param {number} [options.clients] keep-alive clients (default 100)
 * @param {number} [options.loadMs] load before SIGTERM (default 2000)
 */
export const ROLLOUT_SCENARIOS = [
  { name: 'behind a balancer: SHUTDOWN_DELAY_MS=2000, deregistered 1 s after SIGTERM', delayMs: 2000, deregisterAfterMs: 1000, target: 0 },
  { name: 'no balancer, SHUTDOWN_DELAY_MS=0: clients reconnect to the same address', delayMs: 0, deregisterAfterMs: null, target: 0 },
  {
    name: 'misconfigured: still routed here when SHUTDOWN_DELAY_MS=2000 ends',
    delayMs: 2000,
    deregisterAfterMs: null,
    target: null,
  },
];

export async function rollout({ bundle = HALOW, nodeFlags = [], delayMs, deregisterAfterMs, clients = 100, loadMs = 2000 }) {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeFlags, bundle], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), SHUTDOWN_DELAY_MS: String(delayMs), SHUTDOWN_TIMEOUT_MS: '20000' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200) break;
    } catch {
      if (child.exitCode !== null) throw new Error(`halow exited with ${child.exitCode}`);
    }
    await sleep(5);
  }

  const outcome = { sent: 0, ok: 0, failed: 0, failures: {}, refused: 0, moved: 0, closeAnswers: 0 };
  let deregistered = false;
  const fail = (why) => {
    outcome.failed++;
    outcome.failures[why] = (outcome.failures[why] ?? 0) + 1;
  };
  const one = (agent) =>
    new Promise((resolve) => {
      const request = http.get({ host: '127.0.0.1', port, path: PATH, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          const close = res.headers['connection'] === 'close';
          if (res.statusCode !== 200) fail(`status ${res.statusCode}`);
          else outcome.ok++;
          if (close) outcome.closeAnswers++;
          resolve(close ? 'closed' : 'ok');
        });
        res.on('error', (error) => {
          fail(error.code ?? error.message);
          resolve('ok');
        });
      });
      outcome.sent++;
      request.on('error', (error) => {
        if (error.code === 'ECONNREFUSED') {
          outcome.sent--;
          resolve('refused');
        } else {
          fail(error.code ?? error.message);
          resolve('ok');
        }
      });
    });
  const client = async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    // Bounded whatever happens: the drain ends within SHUTDOWN_TIMEOUT_MS.
    const until = performance.now() + loadMs + delayMs + 25_000;
    let connected = true;
    while (performance.now() < until) {
      if (!connected && deregistered) {
        outcome.moved++;
        break;
      }
      const result = await one(agent);
      if (result === 'refused') {
        outcome.refused++;
        break;
      }
      connected = result !== 'closed';
    }
    agent.destroy();
  };
  const clientsDone = Promise.all(Array.from({ length: clients }, client));
  await sleep(loadMs);
  child.kill('SIGTERM');
  if (deregisterAfterMs !== null) setTimeout(() => (deregistered = true), deregisterAfterMs);
  const [exitCode] = await Promise.all([exited, clientsDone]);
  return { delayMs, deregisterAfterMs, clients, exitCode, ...outcome };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const scenario of ROLLOUT_SCENARIOS) console.log(JSON.stringify({ scenario: scenario.name, ...(await rollout(scenario)) }));
}
