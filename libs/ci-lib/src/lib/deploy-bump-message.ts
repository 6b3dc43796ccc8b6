import { posix } from 'node:path';

export interface BumpMessageInputs {
  /** The service, e.g. `halow`. */
  service: string;
  image: string;
  tag: string;
  /** The tag the overlay ran before, when it had one. */
  previousTag?: string;
  /** The pushed manifest digest, when known. */
  digest?: string;
  /** The kustomization file that was edited, relative to the ops repo root. */
  path: string;
  /** The source commit being deployed. */
  revision: string;
  buildUrl?: string;
  /** Source repository URL (config `source`); `/commit/<revision>` is appended. */
  sourceUrl: string;
}

/** Pure: the ops commit message: what changed, from which build, and what exactly now runs. */
export function renderBumpCommitMessage(inputs: BumpMessageInputs): string {
  const overlay = posix.dirname(inputs.path);
  const source = inputs.sourceUrl.replace(/\.git$/, '').replace(/\/+$/, '');
  return [
    `Deploy ${inputs.service} ${inputs.tag.slice(0, 12)} to ${overlay}`,
    '',
    `Set the newTag of ${inputs.image} to ${inputs.tag} in ${inputs.path}.`,
    '',
    `Service: ${inputs.service}`,
    `Change: ${inputs.previousTag ?? '(no tag)'} -> ${inputs.tag}`,
    `Digest: ${inputs.digest ?? '(not recorded)'}`,
    `Revision: ${inputs.revision}`,
    `Build: ${inputs.buildUrl ?? '(local run)'}`,
    `Source: ${source}/commit/${inputs.revision}`,
    '',
  ].join('\n');
}
