import { writeFile } from 'node:fs/promises';
import { planEcrCheck, renderEcrCheckMarkdown, renderEcrCheckText, type RepositoryFacts } from '../../../lib/ecr-check.js';
import { describeEcrRepository } from '../../../lib/ecr-credentials.js';
import { defineCommand } from '../../define-command.js';
import { ECR_CHECK } from './command.js';

export const ecrCheck = defineCommand(ECR_CHECK, async (args, ctx) => {
  const service = await ctx.service(args.project);
  const { target, client } = await ctx.registry();
  let facts: RepositoryFacts;
  if (target.kind === 'plain') {
    await client.ping();
    const tags = await client.listTags(service.repository);
    facts = { kind: 'plain', host: target.host, repository: service.repository, tags: tags?.length };
  } else {
    const { client: ecr, call } = await ctx.ecr(target.ecr.region);
    const repo = await describeEcrRepository(ecr, target.ecr.account, service.repository, call);
    facts = { kind: 'ecr', account: target.ecr.account, region: target.ecr.region, host: target.host, repository: service.repository, facts: repo };
  }
  const result = planEcrCheck(facts, { allowMutable: args.allowMutable === true, service: service.service, source: service.source });
  ctx.io.stdout(renderEcrCheckText(result));
  if (args.annotation !== undefined) {
    await writeFile(ctx.path(args.annotation), renderEcrCheckMarkdown(result));
    ctx.note(`annotation written to ${args.annotation}`);
  }
  return result.exitCode;
});
