import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

// Test-only: reached through `@engex/service-kit/testing`, never from src/index.ts, so no service
// bundle carries it. It imports nothing from vitest; the spec wires `killAll` to its own afterEach.

const HOST = '127.0.0.1';
/** How many free ports `start` tries before it gives up on a port race. */
const START_ATTEMPTS = 3;
/** What Fastify logs once the server accepts connections. */
const LISTENING = 'Server listening at';

/** One line of the service's stdout, parsed. */
export type LogRecord = Record<string, unknown>;

export interface HttpResult {
  status: number;
  body: string;
}

export interface SlowRequestOptions {
  /** Default: POST. */
  method?: string;
  path: string;
  /** The body, sent as JSON. */
  json: unknown;
}

export interface SlowRequest {
  /** Sends the rest of the body. */
  finish(): void;
  /** The response; rejects if the connection drops first (the process died with it unfinished). */
  response: Promise<HttpResult>;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** The PORT it was given (0 when none). */
  readonly port: number;
  /** Every stdout line so far, parsed, in order. */
  readonly logs: readonly LogRecord[];
  stderr(): string;
  /** The exit code once the process is gone AND its output is read (null when a signal killed it). */
  readonly exited: Promise<number | null>;
  /** The first record whose `msg` starts with `prefix`; rejects with the exit code and stderr if the process exits first. */
  waitForLog(prefix: string): Promise<LogRecord>;
  /** GET on a fresh connection unless an agent is given. */
  get(path: string, agent?: http.Agent | false): Promise<HttpResult>;
  /**
   * A request the server has provably started but cannot finish yet: it is sent with
   * `Expect: 100-continue`, resolves once the server answered 100 Continue, and only half its
   * body is written until `finish()`.
   */
  slowRequest(options: SlowRequestOptions): Promise<SlowRequest>;
}

export interface ServiceBundleOptions {
  /** The built bundle, e.g. `new URL('../dist/main.cjs', import.meta.url)` from a spec in src/. */
  bundle: string | URL;
  /** The Nx project that builds it, named in the error when the bundle is missing. */
  project: string;
  /** Default: the node running the tests. */
  node?: string;
}

export interface ServiceBundle {
  /**
   * Spawns the bundle with HOST=127.0.0.1 and `env`, and nothing inherited, so no APP_* or
   * LOG_LEVEL from the CI agent leaks in. Does not wait for it to listen.
   */
  run(env?: Record<string, string>): ServiceProcess;
  /** `run` on a free port (unless `env` sets PORT), resolved once the server listens. */
  start(env?: Record<string, string>): Promise<ServiceProcess>;
  /** SIGKILLs every process still running: call it from the spec's afterEach. */
  killAll(): void;
}

/** The spec ran before the bundle was built. */
export class ServiceBundleMissingError extends Error {
  readonly code = 'SERVICE_BUNDLE_MISSING';
  constructor(
    readonly bundle: string,
    readonly project: string,
  ) {
    super(`${bundle} is missing: run \`npx nx run ${project}:build\` first (\`nx test\` builds it, its test target depends on build).`);
    this.name = this.constructor.name;
  }
}

/** The service wrote something other than one JSON record per line to stdout. */
export class ServiceOutputError extends Error {
  readonly code = 'SERVICE_OUTPUT_NOT_JSON';
  constructor(readonly line: string) {
    super(`stdout line is not a JSON log record: ${JSON.stringify(line.slice(0, 200))}. Log through the service's logger, never console.log.`);
    this.name = this.constructor.name;
  }
}

/** The real bundle, run as the image runs it: `node main.cjs` with the env as its only input. */
export function serviceBundle(options: ServiceBundleOptions): ServiceBundle {
  const bundle = typeof options.bundle === 'string' ? options.bundle : fileURLToPath(options.bundle);
  const node = options.node ?? process.execPath;
  const started: ChildProcess[] = [];

  const run = (env: Record<string, string> = {}): ServiceProcess => {
    if (!existsSync(bundle)) throw new ServiceBundleMissingError(bundle, options.project);
    const child = spawn(node, [bundle], { env: { HOST, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    const port = Number(env['PORT']);
    return watch(child, Number.isInteger(port) ? port : 0);
  };

  return {
    run,
    async start(env = {}) {
      // Another process can take the free port between freePort's answer and the service's bind (seen
      // on a CI machine running three suites at once): then the service exits with EADDRINUSE, and a
      // new port is asked for. A PORT the caller chose is its own business and is not retried.
      for (let attempt = 1; ; attempt++) {
        const server = run({ PORT: String(await freePort()), ...env });
        try {
          await server.waitForLog(LISTENING);
          return server;
        } catch (error) {
          if (env['PORT'] !== undefined || attempt === START_ATTEMPTS || !/EADDRINUSE/.test(server.stderr())) throw error;
        }
      }
    },
    killAll() {
      for (const child of started.splice(0)) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    },
  };
}

function watch(child: ChildProcess, port: number): ServiceProcess {
  const logs: LogRecord[] = [];
  const waiters: { prefix: string; resolve: (record: LogRecord) => void }[] = [];
  const matches = (record: LogRecord, prefix: string) => String(record['msg']).startsWith(prefix);

  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const record = parseRecord(line);
      logs.push(record);
      for (const w of waiters) if (matches(record, w.prefix)) w.resolve(record);
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // 'close', not 'exit': 'exit' can come before the last stdout chunk has been read.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));

  return {
    child,
    port,
    logs,
    stderr: () => stderr,
    exited,
    waitForLog(prefix) {
      const seen = logs.find((r) => matches(r, prefix));
      if (seen) return Promise.resolve(seen);
      return new Promise<LogRecord>((resolve, reject) => {
        waiters.push({ prefix, resolve });
        void exited.then((code) => reject(new Error(`exited with ${code} before logging "${prefix}"; stderr: ${stderr}`)));
      });
    },
    get: (path, agent = false) =>
      new Promise<HttpResult>((resolve, reject) => {
        http.get({ host: HOST, port, path, agent }, (res) => readResult(res).then(resolve, reject)).on('error', reject);
      }),
    slowRequest: (options) => slowRequest(port, options),
  };
}

function parseRecord(line: string): LogRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ServiceOutputError(line);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ServiceOutputError(line);
  return value as LogRecord;
}

async function slowRequest(port: number, { method = 'POST', path, json }: SlowRequestOptions): Promise<SlowRequest> {
  const body = Buffer.from(JSON.stringify(json));
  // Node's client sends the headers at once when Expect: 100-continue is set, body or not.
  const request = http.request({
    host: HOST,
    port,
    method,
    path,
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': body.length, expect: '100-continue' },
  });
  const response = new Promise<HttpResult>((resolve, reject) => {
    request.on('response', (res) => readResult(res).then(resolve, reject));
    request.on('error', reject);
  });
  // A request left unfinished fails when its process is killed; only a caller awaiting it cares.
  response.catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    request.once('continue', resolve);
    response.then((r) => reject(new Error(`${method} ${path} was answered ${r.status} before 100 Continue: ${r.body}`)), reject);
  });
  const half = Math.max(1, Math.floor(body.length / 2));
  request.write(body.subarray(0, half));
  return { finish: () => request.end(body.subarray(half)), response };
}

function readResult(res: http.IncomingMessage): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    res.on('error', reject);
  });
}

/** A port nothing listens on right now; another process may take it before you bind (see `start`). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
