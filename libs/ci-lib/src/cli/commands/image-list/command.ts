import { PROJECT_FLAG, IMAGE_ENV, defineSpec } from '../../spec.js';

export const IMAGE_LIST = defineSpec({
  name: 'image list',
  summary: 'Recent images of a service: revision label, created time, size and digest',
  synopsis: '--project <p> [--limit <n>] [--format table|json]',
  details: `
    Also \`engex-ci images\`. ECR: DescribeImages (newest pushed first), the revision label from each image
    config through the registry API. REGISTRY=host:port: the tags list plus each manifest and config
    (newest created first; at most 200 tags are inspected).
  `,
  flags: `
    ${PROJECT_FLAG}
    [--limit <n>]          How many images (default 10)
    [--format table|json]  table (default) or json
  `,
  positionals: [],
  output: ['CREATED  REVISION  SIZE  DIGEST  TAGS'],
  env: IMAGE_ENV,
  exit: '0 printed, 1 the repository does not exist, 2 usage/config, 4 registry or AWS unreachable',
});
