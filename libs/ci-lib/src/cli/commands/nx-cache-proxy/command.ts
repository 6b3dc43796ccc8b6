import { defineSpec } from '../../spec.js';

export const NX_CACHE_PROXY = defineSpec({
  name: 'nx-cache proxy',
  summary: 'Agent-local proxy to the shared Nx cache: cache trouble becomes a miss, never a failed build',
  synopsis: '--upstream <url> [--url-file <path>] [--events <path>]',
  details: `
    Listens on 127.0.0.1 for Nx (point NX_SELF_HOSTED_REMOTE_CACHE_SERVER at it; Nx keeps sending its token,
    which is forwarded). Nx 23 fails the run on any unexpected cache answer and has no timeout, so the proxy
    answers a miss (GET 404) or "stored" (PUT 200) whenever the upstream is down, slow (--answer-deadline,
    --get-deadline, --put-deadline), erroring (5xx, 507 full disk), refusing (401/403 on GET) or sends what is not an
    Nx archive; after a refused connection or a missed deadline it skips the upstream for 60 s. Each such request
    is appended to --events as one JSON line for \`nx-cache annotate\`. The agent hooks in agent-hooks/ run it.
  `,
  flags: `
    --upstream <url>         The shared cache, e.g. https://nx-cache.internal:8443
    [--port <n>]             TCP port on 127.0.0.1 (default 0: a free one)
    [--url-file <path>]      Write the proxy URL here once it listens (for the environment hook)
    [--events <path>]        Append one JSON line per degraded request
    [--answer-deadline <s>]  Seconds for the upstream to start answering a GET (default 2)
    [--get-deadline <s>]     Seconds for one upstream GET, body included (default 30)
    [--put-deadline <s>]     Seconds for one upstream PUT, body included (default 60)
  `,
  positionals: [],
  output: [
    'nx-cache proxy listening on http://127.0.0.1:<port> -> <upstream origin>   (stderr)',
    'nx-cache proxy <GET|PUT> <hash prefix> -> <404|200> (<reason>)   (stderr, one line per degraded request)',
  ],
  env: [],
  exit: '0 stopped by SIGINT/SIGTERM, 2 usage (bad --upstream, non-loopback host), 4 cannot listen',
});
