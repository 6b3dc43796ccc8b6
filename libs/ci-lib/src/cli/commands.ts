import { AGENT_GUARD } from './commands/agent-guard/command.js';
import { DEPLOY_BUMP } from './commands/deploy-bump/command.js';
import { DEPLOY_STATUS } from './commands/deploy-status/command.js';
import { DEPLOY_VERIFY } from './commands/deploy-verify/command.js';
import { ECR_CHECK } from './commands/ecr-check/command.js';
import { IMAGE_BUILD } from './commands/image-build/command.js';
import { IMAGE_EXISTS } from './commands/image-exists/command.js';
import { IMAGE_LIST } from './commands/image-list/command.js';
import { IMAGE_PUSH } from './commands/image-push/command.js';
import { IMAGE_SBOM } from './commands/image-sbom/command.js';
import { IMAGE_SMOKE } from './commands/image-smoke/command.js';
import { NX_CACHE_ANNOTATE } from './commands/nx-cache-annotate/command.js';
import { NX_CACHE_PROXY } from './commands/nx-cache-proxy/command.js';
import { NX_CACHE_SERVE } from './commands/nx-cache-serve/command.js';
import { SCAN_REPORT } from './commands/scan-report/command.js';
import type { CommandSpec, FlagSpec } from './spec.js';

export type { CommandSpec, FlagSpec } from './spec.js';

/**
 * Every engex-ci command's spec, in help order. Pure (no handler is imported here): the parser,
 * help and the call contract read it; `cli/run-table.ts` pairs each entry with its handler.
 */
export const COMMANDS = [
  AGENT_GUARD,
  IMAGE_BUILD,
  IMAGE_SBOM,
  IMAGE_PUSH,
  IMAGE_EXISTS,
  IMAGE_SMOKE,
  SCAN_REPORT,
  DEPLOY_BUMP,
  DEPLOY_VERIFY,
  ECR_CHECK,
  DEPLOY_STATUS,
  IMAGE_LIST,
  NX_CACHE_SERVE,
  NX_CACHE_PROXY,
  NX_CACHE_ANNOTATE,
] as const satisfies readonly CommandSpec[];

/** Single-word spellings the issue asked for; `main` maps them to their two-word command. */
export const COMMAND_ALIASES: Readonly<Record<string, readonly [string, string]>> = {
  status: ['deploy', 'status'],
  images: ['image', 'list'],
};

export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: 'workspace', type: 'string', value: '<dir>', description: 'Workspace root (default: nearest directory at or above cwd with nx.json)' },
  { name: 'help', type: 'boolean', description: 'Show help for engex-ci or for a command' },
];
