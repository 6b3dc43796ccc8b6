import { appendFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { startNxCacheProxy } from '../../../lib/nx-cache-proxy.js';
import { defineCommand } from '../../define-command.js';
import { wholeNumber } from '../../flag-values.js';
import { listenError, untilStopped } from '../../serve-until-stopped.js';
import { NX_CACHE_PROXY } from './command.js';

/** A deadline flag in whole seconds (1 s to 1 h) → ms. */
const seconds = (flag: string, text: string | undefined): number | undefined => {
  const value = wholeNumber(flag, text, 1, 3600);
  return value === undefined ? undefined : value * 1000;
};

export const nxCacheProxy = defineCommand(NX_CACHE_PROXY, async (args, ctx) => {
  const port = wholeNumber('port', args.port, 0, 65535);
  const events = args.events === undefined ? undefined : ctx.path(args.events);
  const urlFile = args.urlFile === undefined ? undefined : ctx.path(args.urlFile);
  const proxy = await startNxCacheProxy({
    upstream: args.upstream,
    port,
    answerDeadlineMs: seconds('answer-deadline', args.answerDeadline),
    getDeadlineMs: seconds('get-deadline', args.getDeadline),
    putDeadlineMs: seconds('put-deadline', args.putDeadline),
    log: (text) => ctx.note(text),
    // Appended synchronously, one line each: pre-exit may stop the proxy at any moment.
    onDegraded: (event) => {
      if (events !== undefined) appendFileSync(events, `${JSON.stringify(event)}\n`);
    },
  }).catch(listenError('nx-cache proxy', '127.0.0.1', port));
  if (urlFile !== undefined) {
    // Written whole, then renamed: the environment hook never reads half a URL.
    await writeFile(`${urlFile}.tmp`, `${proxy.url}\n`);
    await rename(`${urlFile}.tmp`, urlFile);
  }
  ctx.note(`nx-cache proxy listening on ${proxy.url} -> ${new URL(args.upstream).origin}`);
  await untilStopped();
  await proxy.close();
  ctx.note('nx-cache proxy stopped');
  return 0;
});
