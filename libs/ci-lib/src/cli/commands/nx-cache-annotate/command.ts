import { defineSpec } from '../../spec.js';

export const NX_CACHE_ANNOTATE = defineSpec({
  name: 'nx-cache annotate',
  summary: "Markdown for buildkite-agent annotate from the proxy's degraded requests (nothing when none)",
  synopsis: '--events <path> [--job <label>]',
  details: `
    Groups the events \`nx-cache proxy --events\` wrote by reason: "Nx remote cache unavailable for N requests".
  `,
  flags: `
    --events <path>  The proxy's events file (a missing file means no events)
    [--job <label>]  Job label shown in the annotation
  `,
  positionals: [],
  output: ['Markdown, or nothing when the cache never degraded'],
  env: [],
  exit: '0 printed (or nothing), 2 usage',
});
