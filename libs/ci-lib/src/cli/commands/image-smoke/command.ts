import { PROJECT_FLAG, IMAGE_ENV, defineSpec } from '../../spec.js';

export const IMAGE_SMOKE = defineSpec({
  name: 'image smoke',
  summary: 'Run the pushed image; check /healthz and that /version.revision is the commit',
  synopsis: '--project <p> [--local]',
  details: `
    docker pull <ref>, then docker run -d --network host -e PORT=<free port> -e HOST=127.0.0.1 <ref>;
    polls GET /healthz for up to 30 s, then GET /version. The container is always removed.
    --local smokes the image this agent built, without a pull (untrusted builds never push it).
  `,
  flags: `
    ${PROJECT_FLAG}
    [--local]  Smoke the local image built on this agent; no docker pull (pull-request builds, which never push)
  `,
  positionals: [],
  output: ['smoke ok <ref> revision=<sha> port=<port>'],
  env: IMAGE_ENV,
  exit: '0 ok, 1 smoke test failed, 2 usage/config, 4 docker failure',
});
