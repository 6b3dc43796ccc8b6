import { CONTEXT_ENV } from '../lib/context.js';
import { COMMANDS, GLOBAL_FLAGS, type CommandSpec, type FlagSpec } from './commands.js';

const EXIT_CODES = [
  '0  ok',
  '1  a check failed: scan policy, smoke test (and `image exists`: absent)',
  '2  usage or configuration error (bad flag, env, engex.config.json, manifest, report)',
  '3  immutability conflict: the tag holds a different image; nothing was pushed',
  '4  infrastructure failure: docker, git, registry or AWS (a retry may help)',
];

function pad(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`);
}

function flagLabel(flag: FlagSpec): string {
  const name = flag.negatable ? `--[no-]${flag.name}` : `--${flag.name}`;
  return flag.value ? `${name} ${flag.value}` : flag.name === 'help' ? '-h, --help' : name;
}

export function renderRootHelp(): string {
  return [
    'engex-ci: build, push, scan and deploy engex service images.',
    'The generated Buildkite pipeline calls these commands; they also run locally.',
    '',
    'Usage: engex-ci <command> [flags]',
    '',
    'Commands:',
    ...COMMANDS.flatMap((c) => [`  engex-ci ${c.name} ${c.synopsis}`.trimEnd(), `      ${c.summary}`]),
    '',
    'Global flags:',
    ...pad(GLOBAL_FLAGS.map((f) => [flagLabel(f), f.description])),
    '',
    'Environment (read once, validated; empty counts as unset):',
    `  ${CONTEXT_ENV.join(', ')}`,
    '  BUILDKITE_COMMIT unset or HEAD: the workspace HEAD commit is used.',
    '  REGISTRY=host:port: a plain OCI registry instead of ECR (no AWS auth; http on loopback).',
    '  NODE_IMAGE: the Dockerfile base image instead of engex.config.json nodeImage.',
    '  Deadlines, in seconds: ENGEX_CI_REGISTRY_DEADLINE (default 60, one registry request with its retries),',
    '  ENGEX_CI_AWS_DEADLINE (default 30, one AWS call), ENGEX_CI_GIT_DEADLINE (default 120, one deploy bump).',
    '  A missed deadline is exit 4. Every line printed is redacted (URL credentials, tokens, keys).',
    '',
    'Exit codes:',
    ...EXIT_CODES.map((l) => `  ${l}`),
    '',
    "Run engex-ci <command> --help for a command's flags and output.",
    '',
  ].join('\n');
}

export function renderGroupHelp(group: string): string {
  const commands = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return [
    `Usage: engex-ci ${group} <subcommand> [flags]`,
    '',
    'Subcommands:',
    ...commands.flatMap((c) => [`  engex-ci ${c.name} ${c.synopsis}`.trimEnd(), `      ${c.summary}`]),
    '',
    `Run engex-ci ${group} <subcommand> --help for its flags and output.`,
    '',
  ].join('\n');
}

export function renderCommandHelp(command: CommandSpec): string {
  const usage = [`engex-ci ${command.name}`, ...command.positionals.map((p) => `<${p.name}>`), ...command.flags.map((f) => (f.required ? flagLabel(f) : `[${flagLabel(f)}]`))].join(
    ' ',
  );
  const lines = [`Usage: ${usage}`, '', command.summary + '.', '', ...command.details.split('\n'), ''];
  if (command.positionals.length > 0) lines.push('Arguments:', ...pad(command.positionals.map((p) => [`<${p.name}>`, p.description])), '');
  lines.push('Flags:', ...pad([...command.flags, ...GLOBAL_FLAGS].map((f) => [flagLabel(f), `${f.description}${f.required ? ' (required)' : ''}`])), '');
  lines.push('Output:', ...command.output.map((o) => `  ${o}`), '');
  if (command.env.length > 0) lines.push('Environment:', `  ${command.env.join(', ')}`, '');
  lines.push(`Exit: ${command.exit}`, '');
  return lines.join('\n');
}
