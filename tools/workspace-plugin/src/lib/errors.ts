/**
 * Every failure the workspace plugin reports. Nx prints the message of whatever a generator
 * throws, so each message says what was wrong and how to fix it; nothing is written on error.
 */
import { EXIT_CODES, EngexError, problemList } from '@engex/workspace-config';

export type WorkspacePluginErrorCode = 'INVALID_OPTIONS' | 'ECR_LOCALS_SECTION_NOT_FOUND' | 'ECR_LOCALS_UNSUPPORTED';

/** Every plugin failure is a bad option or a file it will not edit: fix the input (exit 2). */
export abstract class WorkspacePluginError extends EngexError {
  abstract override readonly code: WorkspacePluginErrorCode;
  readonly exitCode = EXIT_CODES.usage;
}

/** One problem with a generator option, e.g. `{ option: 'name', message: 'is reserved: ...' }`. */
export interface OptionIssue {
  option: string;
  message: string;
}

/** The generator options cannot produce a valid service; lists every problem, not only the first. */
export class InvalidServiceOptionsError extends WorkspacePluginError {
  readonly code = 'INVALID_OPTIONS';
  constructor(readonly issues: readonly OptionIssue[]) {
    super(
      problemList(
        (count) => `Cannot generate the service (${count}); nothing was written:`,
        issues.map((i) => `--${i.option}: ${i.message}`),
      ),
    );
  }
}

/** The Terraform file has no `engex = { ... }` map inside a `locals { }` block (or more than one). */
export class EcrLocalsSectionNotFoundError extends WorkspacePluginError {
  readonly code = 'ECR_LOCALS_SECTION_NOT_FOUND';
  constructor(
    readonly file: string,
    readonly found: number,
  ) {
    super(
      found === 0
        ? `${file}: no \`engex = { ... }\` map inside a \`locals { }\` block. Nothing was written. ` +
            'Point --terraform-locals at terraform/aws_sharedart/us-east-1/ecr-private/service-ecr-locals.tf, ' +
            'or add the block printed by the generator by hand.'
        : `${file}: ${found} \`engex = { ... }\` maps inside \`locals { }\` blocks, expected exactly one. ` +
            'Nothing was written; add the block printed by the generator by hand.',
    );
  }
}

/** The `engex` section is written in a shape this plugin does not edit safely (it never guesses). */
export class EcrLocalsUnsupportedError extends WorkspacePluginError {
  readonly code = 'ECR_LOCALS_UNSUPPORTED';
  constructor(
    readonly file: string,
    readonly line: number,
    problem: string,
  ) {
    super(`${file}:${line}: ${problem}. Nothing was written; run \`terraform fmt\` on the file and retry, ` + 'or add the block printed by the generator by hand.');
  }
}
