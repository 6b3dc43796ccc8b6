import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { sharedRequirement } from '@engex/ci-lib/testing';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Buildkite's official schema lives beside the repo, never in it (see ../shared/README.md). */
export const SCHEMA = sharedRequirement('buildkite/pipeline-schema.json');

let validate: (((data: unknown) => boolean) & { errors?: unknown }) | undefined;

/** Schema errors of one upload; empty when valid. */
export function schemaErrors(upload: unknown): string[] {
  if (!validate) {
    // The schema is draft-07 with a few non-standard annotations (fileMatch), hence strict: false.
    const ajv = new Ajv({ strict: false, allErrors: true });
    validate = ajv.compile(JSON.parse(readFileSync(SCHEMA.path, 'utf8')) as object);
  }
  if (validate(upload)) return [];
  return ((validate.errors ?? []) as { instancePath: string; message?: string }[]).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
