import { COMMANDS } from './commands.js';
import { agentGuard } from './commands/agent-guard/handler.js';
import { deployBumpCommand } from './commands/deploy-bump/handler.js';
import { deployStatus } from './commands/deploy-status/handler.js';
import { deployVerify } from './commands/deploy-verify/handler.js';
import { ecrCheck } from './commands/ecr-check/handler.js';
import { imageBuild } from './commands/image-build/handler.js';
import { imageExists } from './commands/image-exists/handler.js';
import { imageList } from './commands/image-list/handler.js';
import { imagePush } from './commands/image-push/handler.js';
import { imageSbom } from './commands/image-sbom/handler.js';
import { imageSmoke } from './commands/image-smoke/handler.js';
import { nxCacheAnnotate } from './commands/nx-cache-annotate/handler.js';
import { nxCacheProxy } from './commands/nx-cache-proxy/handler.js';
import { nxCacheServe } from './commands/nx-cache-serve/handler.js';
import { scanReport } from './commands/scan-report/handler.js';
import type { RunnableCommand } from './define-command.js';

type CommandName = (typeof COMMANDS)[number]['name'];

// Keyed by name only so the compiler checks that every spec has exactly one handler bound to it
// (a missing, extra or mismatched entry is a type error); `main` never looks a name up.
const BY_NAME = {
  'agent guard': agentGuard,
  'image build': imageBuild,
  'image sbom': imageSbom,
  'image push': imagePush,
  'image exists': imageExists,
  'image smoke': imageSmoke,
  'scan report': scanReport,
  'deploy bump': deployBumpCommand,
  'deploy verify': deployVerify,
  'ecr check': ecrCheck,
  'deploy status': deployStatus,
  'image list': imageList,
  'nx-cache serve': nxCacheServe,
  'nx-cache proxy': nxCacheProxy,
  'nx-cache annotate': nxCacheAnnotate,
} satisfies { [N in CommandName]: RunnableCommand<N> };

/** Every command with its handler, in the table's (help) order: what `main` parses argv against. */
export const RUNNABLE_COMMANDS: readonly RunnableCommand[] = COMMANDS.map((spec) => BY_NAME[spec.name]);
