import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Stand-ins for the tools a generated step calls, for the one test that checks the step TEXT and
 * the agent contract (uploaded-text.spec.ts): npm, npx, engex-ci (through `node libs/ci-lib/...`)
 * and docker's image work. Each records its call in `calls.log`, and like the real tool never
 * creates the folder of a file it is asked to write, so a missing `mkdir -p` in a step fails
 * here as on an agent. The real chain (docker, registry, git, kubectl) runs in tools/e2e.
 */
export function writeStubTools(dir: string, realDocker: string): { bin: string; calls: string } {
  const bin = join(dir, 'bin');
  const calls = join(dir, 'calls.log');
  mkdirSync(bin, { recursive: true });
  const write = (name: string, text: string): void => {
    writeFileSync(join(bin, name), `#!/bin/bash\nset -e\nprintf '%s\\n' "${name} $*" >> '${calls}'\n${text}`);
    chmodSync(join(bin, name), 0o755);
  };
  write('npm', `if [ "$1" = ci ]; then mkdir -p node_modules && printf '{}' > node_modules/.package-lock.json; fi\n`);
  // A build writes its outputs, as Nx would: the artifacts a service's build job hands its image job.
  write(
    'npx',
    `case "$1 $2 $3" in
  "nx run @engex/ci-lib:build") mkdir -p libs/ci-lib/dist && echo '// stub' > libs/ci-lib/dist/engex-ci.cjs ;;
  "nx run @engex/"*":build") d="apps/\${3#@engex/}"; d="\${d%:build}"; if [ -d "$d" ]; then mkdir -p "$d/dist" && echo '// stub' > "$d/dist/main.cjs"; fi ;;
  "nx run "*|"nx run-many "*) : ;;
  *) echo "npx stub: unexpected npx $*" >&2; exit 97 ;;
esac
`,
  );
  // The committed shim needs the bundle beside it (built here, or downloaded from the build job), as the real one does.
  write(
    'node',
    `if [ "$1" = libs/ci-lib/bin/engex-ci.cjs ]; then test -s libs/ci-lib/dist/engex-ci.cjs || { echo 'engex-ci: not built yet' >&2; exit 2; }; shift; exec '${bin}/engex-ci' "$@"; fi\nexec '${process.execPath}' "$@"\n`,
  );
  write(
    'engex-ci',
    `opt() { local name=$1; shift; while [ $# -gt 0 ]; do if [ "$1" = "$name" ]; then printf '%s' "$2"; return; fi; shift; done; return 1; }
cmd="$1 \${2:-}"
shift 2 || shift
case "$cmd" in
  "ecr check") : ;;
  "image sbom") p=$(opt --project "$@"); d="apps/\${p#@engex/}/dist"; test -s "$d/main.cjs"; echo '{"bomFormat":"CycloneDX"}' > "$d/sbom.cdx.json" ;;
  "image build") p=$(opt --project "$@"); d="apps/\${p#@engex/}/dist"
    # --built-sbom: the build job's bundle and SBOM must have arrived as artifacts.
    if [[ " $* " == *" --built-sbom "* ]]; then test -s "$d/main.cjs"; test -s "$d/sbom.cdx.json"; else mkdir -p "$d"; echo '{"bomFormat":"CycloneDX"}' > "$d/sbom.cdx.json"; fi ;;
  "image push") f=$(opt --digest-file "$@"); printf 'sha256:%064d\\n' 7 > "$f" ;;
  "image smoke") : ;;
  "scan report") test -s "$1"; test -s "$(opt --sbom-report "$@")"; echo '| scan |' > "$(opt --annotation "$@")" ;;
  "deploy bump") grep -q '^sha256:' "$(opt --digest-file "$@")"; git ls-remote "$(opt --repo "$@")" > /dev/null ;;
  status*) : ;;
  *) echo "engex-ci stub: unknown call $cmd" >&2; exit 97 ;;
esac
`,
  );
  write(
    'docker',
    `case "$1" in
  pull|login|push|tag|build) exit 0 ;;
  run) echo '{}' ; exit 0 ;;
  image) if [ "$2" = inspect ] && [[ "$*" == *aquasec/trivy* ]]; then echo sha256:stub; exit 0; fi ;;
esac
exec '${realDocker}' "$@"
`,
  );
  return { bin, calls };
}
