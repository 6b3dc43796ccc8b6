import { describe, expect, it } from 'vitest';
import { EcrLocalsSectionNotFoundError, EcrLocalsUnsupportedError } from './errors.js';
import { insertEcrLocal, renderEcrLocal } from './ecr-locals.js';

const SOURCE = 'https://github.com/highspot/halow';
/** A Terraform file whose only engex section holds these lines, indented one level inside it. */
const section = (...lines: string[]): string => `locals {\n  engex = {\n${lines.map((l) => (l === '' ? '' : `    ${l}`)).join('\n')}\n  }\n}\n`;
const BILLING = `billing = { mutable = "IMMUTABLE", source = "${SOURCE}" }`;

/** The edit added exactly `line` right after the first line equal to `anchor`, and changed nothing else. */
function expectOneLineAdded(before: string, after: string, anchor: string, line: string): void {
  const lines = before.split('\n');
  const at = lines.indexOf(anchor) + 1;
  expect(at).toBeGreaterThan(0);
  expect(after).toBe([...lines.slice(0, at), line, ...lines.slice(at)].join('\n'));
}

/** Shaped like the real file: one map per team, terraform-fmt'ed. */
const LOCALS = `# Private ECR repositories, one map per team.
locals {
  ecr_repositories = {
    data = {
      ingest = { mutable = "IMMUTABLE", source = "https://github.com/highspot/ingest" }
    }

    # engex platform services
    engex = {
      halow = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }
      zappa = { mutable = "MUTABLE", source = "https://github.com/highspot/zappa" } # legacy
    }
  }
}

module "ecr" {
  source       = "./modules/ecr"
  repositories = local.ecr_repositories
}
`;

describe('renderEcrLocal', () => {
  it('prints the entry to paste into the engex section', () => {
    expect(renderEcrLocal('billing', SOURCE)).toMatchInlineSnapshot(`"billing = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }"`);
  });

  it('escapes what HCL would read as a template or the end of the string', () => {
    expect(renderEcrLocal('x', 'https://e.com/"${a}"\\')).toMatchInlineSnapshot(`"x = { mutable = "IMMUTABLE", source = "https://e.com/\\"$\${a}\\"\\\\" }"`);
  });
});

describe('insertEcrLocal', () => {
  it('inserts in alphabetical order and keeps the fmt alignment of its neighbours', () => {
    // The engex section only: that nothing outside it changes is the next test's.
    expect(insertEcrLocal(LOCALS, 'billing', SOURCE).split('\n').slice(8, 13)).toEqual([
      '    engex = {',
      '      billing = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }',
      '      halow   = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }',
      '      zappa   = { mutable = "MUTABLE", source = "https://github.com/highspot/zappa" } # legacy',
      '    }',
    ]);
  });

  it('realigns the whole run when the new key is the longest, as terraform fmt would', () => {
    const out = insertEcrLocal(LOCALS, 'notifications', SOURCE);
    expect(out.split('\n').slice(8, 12).join('\n')).toMatchInlineSnapshot(`
      "    engex = {
            halow         = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }
            notifications = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }
            zappa         = { mutable = "MUTABLE", source = "https://github.com/highspot/zappa" } # legacy"
    `);
  });

  it('is idempotent: a second run returns the text unchanged', () => {
    const once = insertEcrLocal(LOCALS, 'billing', SOURCE);
    expect(insertEcrLocal(once, 'billing', SOURCE)).toBe(once);
  });

  it('leaves an existing entry alone even when its value differs', () => {
    expect(insertEcrLocal(LOCALS, 'zappa', SOURCE)).toBe(LOCALS);
  });

  it('changes nothing outside the engex section except the inserted line', () => {
    const before = LOCALS.split('\n');
    const after = insertEcrLocal(LOCALS, 'kiwi', SOURCE).split('\n');
    expect(after.length).toBe(before.length + 1);
    expect(after.filter((l) => !before.includes(l))).toEqual(['      kiwi  = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }']);
  });

  it('appends at the end when the existing keys are not sorted', () => {
    const text = section('zeta = { mutable = "IMMUTABLE", source = "s" }', 'alpha = { mutable = "IMMUTABLE", source = "s" }');
    expectOneLineAdded(text, insertEcrLocal(text, 'billing', SOURCE), '    alpha = { mutable = "IMMUTABLE", source = "s" }', `    ${BILLING}`);
  });

  it('does not realign a hand-formatted run', () => {
    const text = section('aa = { mutable = "IMMUTABLE", source = "s" }', 'zzzz = { mutable = "IMMUTABLE", source = "s" }');
    expect(insertEcrLocal(text, 'mm', SOURCE).split('\n').slice(2, 5)).toEqual([
      '    aa = { mutable = "IMMUTABLE", source = "s" }',
      '    mm = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }',
      '    zzzz = { mutable = "IMMUTABLE", source = "s" }',
    ]);
  });

  it('steps over multi-line entries and keeps comments with the entries they describe', () => {
    const text = section(
      '# the first service',
      'alpha = {',
      '  mutable = "IMMUTABLE"',
      '  source  = "https://github.com/highspot/alpha"',
      '}',
      '',
      '# a later one',
      'omega = { mutable = "IMMUTABLE", source = "s" }',
    );
    // After the closing brace of alpha's block, before omega's comment.
    expectOneLineAdded(text, insertEcrLocal(text, 'billing', SOURCE), '    }', `    ${BILLING}`);
  });

  it('puts a key that sorts first right above the first entry', () => {
    const text = section('halow = { mutable = "IMMUTABLE", source = "s" }');
    expect(insertEcrLocal(text, 'api-gateway', SOURCE).split('\n').slice(1, 5)).toEqual([
      '  engex = {',
      '    api-gateway = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }',
      '    halow       = { mutable = "IMMUTABLE", source = "s" }',
      '  }',
    ]);
  });

  it('fills an empty multi-line section, indented one level deeper than its braces', () => {
    const text = 'locals {\n  engex = {\n  }\n}\n';
    expect(insertEcrLocal(text, 'billing', SOURCE)).toBe('locals {\n  engex = {\n    billing = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }\n  }\n}\n');
  });

  it('expands `engex = {}` and realigns the neighbours it no longer lines up with', () => {
    const text = `locals {
  core  = { a = 1 }
  engex = {}
  web   = { b = 2 }
}
`;
    expect(insertEcrLocal(text, 'billing', SOURCE)).toMatchInlineSnapshot(`
      "locals {
        core = { a = 1 }
        engex = {
          billing = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }
        }
        web = { b = 2 }
      }
      "
    `);
  });

  it('keeps CRLF line endings and a missing final newline', () => {
    const text = 'locals {\r\n  engex = {\r\n    halow = { mutable = "IMMUTABLE", source = "s" }\r\n  }\r\n}';
    expect(insertEcrLocal(text, 'billing', SOURCE)).toBe(
      'locals {\r\n  engex = {\r\n    billing = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }\r\n' +
        '    halow   = { mutable = "IMMUTABLE", source = "s" }\r\n  }\r\n}',
    );
  });

  it('accepts a quoted section key and quoted entry keys', () => {
    const text = 'locals {\n  "engex" = {\n    "halow" = { mutable = "IMMUTABLE", source = "s" }\n  }\n}\n';
    expect(insertEcrLocal(text, 'halow', SOURCE)).toBe(text);
    expect(insertEcrLocal(text, 'zed', SOURCE)).toContain('    zed     = { mutable');
  });

  it('is not fooled by braces, equals and "engex = {" inside strings, comments and heredocs', () => {
    const text = `locals {
  note = "engex = { not = this }"
  /* engex = {
  } */
  doc = <<EOT
  engex = {
  }
EOT
  # engex = {}
  engex = {
    halow = { mutable = "IMMUTABLE", source = "s" } // engex = {}
  }
}
`;
    expect(insertEcrLocal(text, 'billing', SOURCE).split('\n').slice(9, 12)).toEqual([
      '  engex = {',
      '    billing = { mutable = "IMMUTABLE", source = "https://github.com/highspot/halow" }',
      '    halow   = { mutable = "IMMUTABLE", source = "s" } // engex = {}',
    ]);
  });

  it('refuses a file with no engex section inside locals, naming the file', () => {
    const outside = 'variable "engex" {}\nengex = {\n}\nlocals {\n  other = {}\n}\n';
    expect(() => insertEcrLocal(outside, 'billing', SOURCE, 'x/service-ecr-locals.tf')).toThrowError(EcrLocalsSectionNotFoundError);
    expect(() => insertEcrLocal(outside, 'billing', SOURCE, 'x/service-ecr-locals.tf')).toThrowErrorMatchingInlineSnapshot(
      `[EcrLocalsSectionNotFoundError: x/service-ecr-locals.tf: no \`engex = { ... }\` map inside a \`locals { }\` block. Nothing was written. Point --terraform-locals at terraform/aws_sharedart/us-east-1/ecr-private/service-ecr-locals.tf, or add the block printed by the generator by hand.]`,
    );
    expect(() => insertEcrLocal('', 'billing', SOURCE)).toThrowError(EcrLocalsSectionNotFoundError);
  });

  it('refuses two engex sections instead of guessing', () => {
    const text = 'locals {\n  engex = {\n  }\n}\nlocals {\n  engex = {\n  }\n}\n';
    expect(() => insertEcrLocal(text, 'billing', SOURCE)).toThrowError(/2 `engex = \{ \.\.\. \}` maps/);
  });

  it('refuses shapes it cannot edit safely, with the line number', () => {
    const oneLine = 'locals {\n  engex = { halow = { mutable = "IMMUTABLE", source = "s" } }\n}\n';
    expect(() => insertEcrLocal(oneLine, 'billing', SOURCE, 'f.tf')).toThrowErrorMatchingInlineSnapshot(
      `[EcrLocalsUnsupportedError: f.tf:2: the engex map is written on one line. Nothing was written; run \`terraform fmt\` on the file and retry, or add the block printed by the generator by hand.]`,
    );
    const openLine = 'locals {\n  engex = { halow = { mutable = "IMMUTABLE", source = "s" }\n  }\n}\n';
    expect(() => insertEcrLocal(openLine, 'billing', SOURCE)).toThrowError(EcrLocalsUnsupportedError);
    const closeLine = 'locals {\n  engex = {\n    halow = { mutable = "IMMUTABLE", source = "s" } }\n}\n';
    expect(() => insertEcrLocal(closeLine, 'billing', SOURCE)).toThrowError(/closing line/);
    expect(() => insertEcrLocal('locals {\n  engex = {\n', 'billing', SOURCE)).toThrowError(/unclosed/);
    expect(() => insertEcrLocal('locals {\n  engex = [\n  }\n}\n', 'billing', SOURCE, 'f.tf')).toThrowError(/f\.tf:3: unbalanced "\}"/);
  });
});
