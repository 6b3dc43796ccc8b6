import { readFile } from 'node:fs/promises';
import { parseDegradedEvents, renderDegradedAnnotation } from '../../../lib/nx-cache-proxy.js';
import { defineCommand } from '../../define-command.js';
import { NX_CACHE_ANNOTATE } from './command.js';

export const nxCacheAnnotate = defineCommand(NX_CACHE_ANNOTATE, async (args, ctx) => {
  // A missing events file means the proxy never degraded.
  const text = await readFile(ctx.path(args.events), 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : Promise.reject(error)));
  ctx.io.stdout(renderDegradedAnnotation(parseDegradedEvents(text), args.job));
  return 0;
});
