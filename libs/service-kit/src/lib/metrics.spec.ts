import { describe, expect, it } from 'vitest';
import { HttpMetrics, nodeProcessProbe, renderProcessMetrics } from './metrics.js';
import { fixedProcessProbe } from './test-app.js';

describe('HttpMetrics', () => {
  it('renders counts and a cumulative histogram per method, route and status', () => {
    const metrics = new HttpMetrics([0.1, 1]);
    metrics.observe('GET', '/hello', 200, 0.05);
    metrics.observe('GET', '/hello', 200, 0.5);
    metrics.observe('GET', '/hello', 200, 3);
    metrics.observe('POST', '/say "hi"\\', 400, 0.1);
    expect(metrics.render()).toMatchInlineSnapshot(`
      "# HELP http_requests_total HTTP requests answered, by method, route and status code.
      # TYPE http_requests_total counter
      http_requests_total{method="GET",route="/hello",status_code="200"} 3
      http_requests_total{method="POST",route="/say \\"hi\\"\\\\",status_code="400"} 1
      # HELP http_request_duration_seconds Time from request received to response sent.
      # TYPE http_request_duration_seconds histogram
      http_request_duration_seconds_bucket{method="GET",route="/hello",status_code="200",le="0.1"} 1
      http_request_duration_seconds_bucket{method="GET",route="/hello",status_code="200",le="1"} 2
      http_request_duration_seconds_bucket{method="GET",route="/hello",status_code="200",le="+Inf"} 3
      http_request_duration_seconds_sum{method="GET",route="/hello",status_code="200"} 3.55
      http_request_duration_seconds_count{method="GET",route="/hello",status_code="200"} 3
      http_request_duration_seconds_bucket{method="POST",route="/say \\"hi\\"\\\\",status_code="400",le="0.1"} 1
      http_request_duration_seconds_bucket{method="POST",route="/say \\"hi\\"\\\\",status_code="400",le="1"} 1
      http_request_duration_seconds_bucket{method="POST",route="/say \\"hi\\"\\\\",status_code="400",le="+Inf"} 1
      http_request_duration_seconds_sum{method="POST",route="/say \\"hi\\"\\\\",status_code="400"} 0.1
      http_request_duration_seconds_count{method="POST",route="/say \\"hi\\"\\\\",status_code="400"} 1
      "
    `);
  });
});

describe('renderProcessMetrics', () => {
  it('renders the process and runtime gauges', () => {
    expect(renderProcessMetrics(fixedProcessProbe())).toMatchInlineSnapshot(`
      "# HELP process_cpu_user_seconds_total User CPU time spent in seconds.
      # TYPE process_cpu_user_seconds_total counter
      process_cpu_user_seconds_total 1.5
      # HELP process_cpu_system_seconds_total System CPU time spent in seconds.
      # TYPE process_cpu_system_seconds_total counter
      process_cpu_system_seconds_total 0.5
      # HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
      # TYPE process_cpu_seconds_total counter
      process_cpu_seconds_total 2
      # HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
      # TYPE process_start_time_seconds gauge
      process_start_time_seconds 1700000000
      # HELP process_resident_memory_bytes Resident memory size in bytes.
      # TYPE process_resident_memory_bytes gauge
      process_resident_memory_bytes 50000000
      # HELP nodejs_heap_size_total_bytes Process heap size from Node.js in bytes.
      # TYPE nodejs_heap_size_total_bytes gauge
      nodejs_heap_size_total_bytes 20000000
      # HELP nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.
      # TYPE nodejs_heap_size_used_bytes gauge
      nodejs_heap_size_used_bytes 10000000
      # HELP nodejs_external_memory_bytes Node.js external memory size in bytes.
      # TYPE nodejs_external_memory_bytes gauge
      nodejs_external_memory_bytes 1000000
      # HELP nodejs_eventloop_lag_p50_seconds The 50th percentile of the recorded event loop delays.
      # TYPE nodejs_eventloop_lag_p50_seconds gauge
      nodejs_eventloop_lag_p50_seconds 0.01
      # HELP nodejs_eventloop_lag_p99_seconds The 99th percentile of the recorded event loop delays.
      # TYPE nodejs_eventloop_lag_p99_seconds gauge
      nodejs_eventloop_lag_p99_seconds 0.02
      # HELP nodejs_eventloop_lag_max_seconds The maximum recorded event loop delay.
      # TYPE nodejs_eventloop_lag_max_seconds gauge
      nodejs_eventloop_lag_max_seconds 0.03
      # HELP nodejs_version_info Node.js version info.
      # TYPE nodejs_version_info gauge
      nodejs_version_info{version="v20.0.0"} 1
      "
    `);
  });

  it('reads a real process', () => {
    const probe = nodeProcessProbe(process, Date.now());
    try {
      const text = renderProcessMetrics(probe);
      const rss = /^process_resident_memory_bytes (\d+)$/m.exec(text);
      expect(Number(rss?.[1])).toBeGreaterThan(0);
      expect(text).toContain(`nodejs_version_info{version="${process.version}"} 1`);
    } finally {
      probe.stop();
    }
  });
});
