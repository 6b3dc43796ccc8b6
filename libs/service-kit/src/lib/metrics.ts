import { monitorEventLoopDelay } from 'node:perf_hooks';

/*
 * A small Prometheus text-format (0.0.4) exposition instead of prom-client: the service needs one
 * counter, one histogram and a handful of process gauges, and this keeps the bundle and the
 * per-request cost small. Metric names follow prom-client's so dashboards carry over.
 */

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Upper bounds in seconds; prom-client's defaults, which suit a JSON API. */
export const DEFAULT_LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  labels: string;
  count: number;
  sum: number;
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  buckets: number[];
}

/** Request count and latency histogram by method, route and status code. */
export class HttpMetrics {
  private readonly series = new Map<string, Series>();

  constructor(readonly bucketBounds: readonly number[] = DEFAULT_LATENCY_BUCKETS) {}

  /** `route` must be the route pattern (e.g. `/users/:id`), never the raw URL, to bound cardinality. */
  observe(method: string, route: string, statusCode: number, seconds: number): void {
    const key = `${method} ${statusCode} ${route}`;
    let s = this.series.get(key);
    if (s === undefined) {
      s = {
        labels: `method="${escapeLabel(method)}",route="${escapeLabel(route)}",status_code="${statusCode}"`,
        count: 0,
        sum: 0,
        buckets: new Array<number>(this.bucketBounds.length + 1).fill(0),
      };
      this.series.set(key, s);
    }
    s.count++;
    s.sum += seconds;
    let i = 0;
    while (i < this.bucketBounds.length && seconds > this.bucketBounds[i]!) i++;
    s.buckets[i]!++;
  }

  render(): string {
    const all = [...this.series.values()].sort((a, b) => (a.labels < b.labels ? -1 : 1));
    const lines = [
      '# HELP http_requests_total HTTP requests answered, by method, route and status code.',
      '# TYPE http_requests_total counter',
      ...all.map((s) => `http_requests_total{${s.labels}} ${s.count}`),
      '# HELP http_request_duration_seconds Time from request received to response sent.',
      '# TYPE http_request_duration_seconds histogram',
    ];
    for (const s of all) {
      let cumulative = 0;
      this.bucketBounds.forEach((bound, i) => {
        cumulative += s.buckets[i]!;
        lines.push(`http_request_duration_seconds_bucket{${s.labels},le="${bound}"} ${cumulative}`);
      });
      lines.push(`http_request_duration_seconds_bucket{${s.labels},le="+Inf"} ${s.count}`);
      lines.push(`http_request_duration_seconds_sum{${s.labels}} ${s.sum}`);
      lines.push(`http_request_duration_seconds_count{${s.labels}} ${s.count}`);
    }
    return lines.join('\n') + '\n';
  }
}

/** Everything the process gauges read, so tests can pass fixed numbers. */
export interface ProcessProbe {
  /** Microseconds, like `process.cpuUsage()`. */
  cpuUsage(): { user: number; system: number };
  memoryUsage(): { rss: number; heapTotal: number; heapUsed: number; external: number };
  /** Unix time in seconds when the process started. */
  startTimeSeconds: number;
  nodeVersion: string;
  /** Event-loop delay percentiles in seconds since the previous scrape (then reset). */
  eventLoopDelay(): { p50: number; p99: number; max: number };
  /** Stops background sampling; called when the app closes. */
  stop(): void;
}

/** The real probe, reading this Node process. */
export function nodeProcessProbe(proc: NodeJS.Process, nowMs: number): ProcessProbe {
  const delay = monitorEventLoopDelay({ resolution: 20 });
  delay.enable();
  const seconds = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
  return {
    cpuUsage: () => proc.cpuUsage(),
    memoryUsage: () => proc.memoryUsage(),
    startTimeSeconds: Math.round(nowMs / 1000 - proc.uptime()),
    nodeVersion: proc.versions.node,
    eventLoopDelay: () => {
      const result = {
        p50: seconds(delay.percentile(50)),
        p99: seconds(delay.percentile(99)),
        max: seconds(delay.max),
      };
      delay.reset();
      return result;
    },
    stop: () => delay.disable(),
  };
}

export function renderProcessMetrics(probe: ProcessProbe): string {
  const cpu = probe.cpuUsage();
  const mem = probe.memoryUsage();
  const lag = probe.eventLoopDelay();
  const metric = (name: string, type: string, help: string, value: number, labels = '') => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name}${labels} ${value}\n`;
  return (
    metric('process_cpu_user_seconds_total', 'counter', 'User CPU time spent in seconds.', cpu.user / 1e6) +
    metric('process_cpu_system_seconds_total', 'counter', 'System CPU time spent in seconds.', cpu.system / 1e6) +
    metric('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.', (cpu.user + cpu.system) / 1e6) +
    metric('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.', probe.startTimeSeconds) +
    metric('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', mem.rss) +
    metric('nodejs_heap_size_total_bytes', 'gauge', 'Process heap size from Node.js in bytes.', mem.heapTotal) +
    metric('nodejs_heap_size_used_bytes', 'gauge', 'Process heap size used from Node.js in bytes.', mem.heapUsed) +
    metric('nodejs_external_memory_bytes', 'gauge', 'Node.js external memory size in bytes.', mem.external) +
    metric('nodejs_eventloop_lag_p50_seconds', 'gauge', 'The 50th percentile of the recorded event loop delays.', lag.p50) +
    metric('nodejs_eventloop_lag_p99_seconds', 'gauge', 'The 99th percentile of the recorded event loop delays.', lag.p99) +
    metric('nodejs_eventloop_lag_max_seconds', 'gauge', 'The maximum recorded event loop delay.', lag.max) +
    metric('nodejs_version_info', 'gauge', 'Node.js version info.', 1, `{version="v${escapeLabel(probe.nodeVersion)}"}`)
  );
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
