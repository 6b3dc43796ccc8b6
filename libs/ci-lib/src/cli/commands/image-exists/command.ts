import { PROJECT_FLAG, IMAGE_ENV, defineSpec } from '../../spec.js';

export const IMAGE_EXISTS = defineSpec({
  name: 'image exists',
  summary: 'Ask the registry whether <registry>/<repo>:<sha> exists',
  synopsis: '--project <p>',
  details: `
    HEAD /v2/<repo>/manifests/<sha> through the OCI distribution API.
  `,
  flags: `
    ${PROJECT_FLAG}
  `,
  positionals: [],
  output: ['exists <ref>@<digest>', 'absent <ref>'],
  env: IMAGE_ENV,
  exit: '0 exists, 1 absent, 2 usage/config, 4 registry unreachable',
});
