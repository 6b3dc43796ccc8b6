import { PROJECT_FLAG, IMAGE_ENV, AWS_ENV, defineSpec } from '../../spec.js';

export const ECR_CHECK = defineSpec({
  name: 'ecr check',
  summary: 'Preflight the service repository: it exists, is IMMUTABLE and scans on push',
  synopsis: '--project <p> [--allow-mutable] [--annotation <out.md>]',
  details: `
    ECR: DescribeRepositories in the configured account and region. Missing: exit 2 with the Terraform line
    to add, the file it goes in, and the account and region it looked in. MUTABLE: exit 1 (the idempotent
    push relies on IMMUTABLE tags) unless --allow-mutable. Scan on push off: a warning (the pipeline Trivy
    gate scans every image anyway). REGISTRY=host:port: GET /v2/ and the tags list; mutability and scan on
    push cannot be read there and are reported as not checked.
  `,
  flags: `
    ${PROJECT_FLAG}
    [--allow-mutable]        A MUTABLE repository is a warning, not an error (proposed config: registry.allowMutable)
    [--annotation <out.md>]  Also write the report as Markdown here (for buildkite-agent annotate)
  `,
  positionals: [],
  output: ['ecr check <repo> in account <a>, region <r> (<host>)', '<ok|note|warning|error>  <finding>   (one line each; the Terraform line when missing)'],
  env: [...IMAGE_ENV, AWS_ENV],
  exit: '0 passed (warnings allowed), 1 MUTABLE, 2 repository missing or usage/config, 4 AWS or registry unreachable',
});
