import { readFileSync, writeFileSync } from 'node:fs';
import { ECR_LOCALS_FILE, insertEcrLocal } from './ecr-locals.js';
import { InvalidServiceOptionsError } from './errors.js';

/** The Terraform file's new text, computed before anything is written. */
export interface EcrLocalsEdit {
  /** Absolute path of the file. */
  path: string;
  text: string;
  /** False when the entry was already there: writing would change nothing. */
  changed: boolean;
}

/**
 * Reads the Terraform file and plans the insertion of `name`'s entry; throws (and so stops the
 * generator before its first write) when the file is unreadable or has no usable engex section.
 */
export function readEcrLocalsEdit(path: string, name: string, source: string): EcrLocalsEdit {
  let before: string;
  try {
    before = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new InvalidServiceOptionsError([
      {
        option: 'terraform-locals',
        message: `cannot read ${path} (${reason}); pass the path of ${ECR_LOCALS_FILE} in your Terraform checkout`,
      },
    ]);
  }
  const text = insertEcrLocal(before, name, source, path);
  return { path, text, changed: text !== before };
}

export function writeEcrLocalsEdit(edit: EcrLocalsEdit): void {
  if (edit.changed) writeFileSync(edit.path, edit.text);
}

/** What the generators print about the ECR repository, with or without --terraform-locals. */
export function renderEcrInstructions(repository: string, entry: string, edit: EcrLocalsEdit | null): string {
  if (edit === null) {
    return [
      '',
      `The ECR repository ${repository} is declared in the Terraform repo. Add this line to the`,
      `engex section of ${ECR_LOCALS_FILE}`,
      '(or run again with --terraform-locals <path to that file> to have it inserted):',
      '',
      `    ${entry}`,
      '',
    ].join('\n');
  }
  return edit.changed
    ? `\nECR repository ${repository}: adding to the engex section of ${edit.path}:\n\n    ${entry}\n`
    : `\nECR repository ${repository}: already in the engex section of ${edit.path}; left as is.\n`;
}
