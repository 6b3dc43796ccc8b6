/**
 * Where the ECR repositories of every team are declared, in the separate Terraform repository.
 * Each team has a map in `locals`; engex services go in the `engex` one. Lives in ci-lib so the
 * service generator (which inserts the line) and `engex-ci ecr check` (which asks for it) print
 * the same text.
 */
export const ECR_LOCALS_FILE = 'terraform/aws_sharedart/us-east-1/ecr-private/service-ecr-locals.tf';

/** The map entry that declares a service's IMMUTABLE ECR repository, e.g. `billing = { ... }`. */
export function renderEcrLocal(name: string, source: string): string {
  return `${name} = { mutable = "IMMUTABLE", source = ${hclString(source)} }`;
}

function hclString(value: string): string {
  return `"${value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/([$%])\{/g, '$1$1{')}"`;
}
