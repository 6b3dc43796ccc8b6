import { defineSpec } from '../../spec.js';

export const SCAN_REPORT = defineSpec({
  name: 'scan report',
  summary: 'Gate a Trivy JSON report and write a Markdown annotation',
  synopsis: '<trivy.json> [--fail-on ...] [--annotation <out.md>]',
  details: `
    Reads \`trivy image --format json\` output (SchemaVersion 2). An unreadable or wrong-schema report is an
    error (exit 2), never a pass. Defaults come from engex.config.json \`trivy\`. .trivyignore entries may
    carry exp:YYYY-MM-DD; they stop applying at the start of that day (UTC), as in Trivy.
  `,
  flags: `
    [--fail-on <severities>]     Comma-separated severities that fail the gate (default: config trivy.failOn, HIGH,CRITICAL)
    [--[no-]ignore-unfixed]      Findings without a fixed version never fail the gate (default: config trivy.ignoreUnfixed, true); --no-ignore-unfixed counts them
    [--trivyignore <file>]       Ignore file (default: <workspace>/.trivyignore when it exists)
    [--annotation <out.md>]      Write the Markdown here instead of stdout (for buildkite-agent annotate)
    [--sbom-report <sbom.json>]  \`trivy sbom\` JSON report of the image's SBOM (bundled npm packages), merged with <trivy.json> into one verdict; each failing finding says where it came from
  `,
  positionals: [{ name: 'trivy.json', description: 'The Trivy JSON report (`trivy image`)' }],
  output: ['The Markdown annotation (stdout unless --annotation); one summary line on stderr'],
  env: [],
  exit: '0 policy passed, 1 policy failed, 2 unreadable/invalid report or bad flags',
});
