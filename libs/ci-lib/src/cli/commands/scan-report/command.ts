import type { CommandSpec } from '../../spec.js';

export const SCAN_REPORT = {
  name: 'scan report',
  summary: 'Gate a Trivy JSON report and write a Markdown annotation',
  synopsis: '<trivy.json> [--fail-on ...] [--annotation <out.md>]',
  details: [
    'Reads `trivy image --format json` output (SchemaVersion 2). An unreadable or wrong-schema report is an',
    'error (exit 2), never a pass. Defaults come from engex.config.json `trivy`. .trivyignore entries may',
    'carry exp:YYYY-MM-DD; they stop applying at the start of that day (UTC), as in Trivy.',
  ],
  flags: [
    { name: 'fail-on', type: 'string', value: '<severities>', description: 'Comma-separated severities that fail the gate (default: config trivy.failOn, HIGH,CRITICAL)' },
    {
      name: 'ignore-unfixed',
      type: 'boolean',
      negatable: true,
      description: 'Findings without a fixed version never fail the gate (default: config trivy.ignoreUnfixed, true); --no-ignore-unfixed counts them',
    },
    { name: 'trivyignore', type: 'string', value: '<file>', description: 'Ignore file (default: <workspace>/.trivyignore when it exists)' },
    { name: 'annotation', type: 'string', value: '<out.md>', description: 'Write the Markdown here instead of stdout (for buildkite-agent annotate)' },
    {
      name: 'sbom-report',
      type: 'string',
      value: '<sbom.json>',
      description: "`trivy sbom` JSON report of the image's SBOM (bundled npm packages), merged with <trivy.json> into one verdict; each failing finding says where it came from",
    },
  ],
  positionals: [{ name: 'trivy.json', description: 'The Trivy JSON report (`trivy image`)' }],
  output: ['The Markdown annotation (stdout unless --annotation); one summary line on stderr'],
  env: [],
  exit: '0 policy passed, 1 policy failed, 2 unreadable/invalid report or bad flags',
} as const satisfies CommandSpec;
