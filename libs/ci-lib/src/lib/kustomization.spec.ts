import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ManifestError } from './errors.js';
import { KustomizationTooLargeError, MAX_KUSTOMIZATION_BYTES, YamlAliasError, pickKustomizationFile, readImageEntries } from './kustomization-file.js';
import { ImageNotFoundError, StaleDigestError, setImageTag } from './kustomization.js';
import { applyEntryEdits } from './kustomization-splice.js';
import { withoutRegistry } from './kustomize-images.js';

const IMAGE = '460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow';
const OLD = '0000000000000000000000000000000000000000';
const NEW = '0123456789abcdef0123456789abcdef01234567';

const SEED = `# Staging overlay for halow. Managed by humans AND engex-ci.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

resources:
  - ../../base   # the shared deployment

images:
  # The service image: engex-ci deploy bump sets newTag.
  - name: ${IMAGE}
    newTag: ${OLD} # bumped by CI
  - name: busybox
    newTag: "1.36"
`;

describe('setImageTag', () => {
  it('replaces only the newTag bytes, keeping every comment and blank line', () => {
    const edit = setImageTag(SEED, { image: IMAGE, tag: NEW });
    expect(edit).toMatchObject({ changed: true, previous: { tag: OLD }, created: false, entry: { index: 0, matchedBy: 'name' } });
    expect(edit.text).toBe(SEED.replace(OLD, NEW));
  });

  it('keeps quoting, and quotes a tag YAML would read as a number', () => {
    expect(setImageTag(SEED, { image: 'busybox', tag: '1.37' }).text).toContain('newTag: "1.37"');
    const plain = SEED.replace(OLD, 'abc');
    expect(setImageTag(plain, { image: IMAGE, tag: '1234567' }).text).toContain(`newTag: "1234567" # bumped by CI`);
    expect(parse(setImageTag(plain, { image: IMAGE, tag: '1234567' }).text).images[0].newTag).toBe('1234567');
  });

  it('is a no-op when the tag is already current', () => {
    const current = setImageTag(SEED, { image: IMAGE, tag: NEW }).text;
    expect(setImageTag(current, { image: IMAGE, tag: NEW })).toEqual({
      text: current,
      changed: false,
      previous: { tag: NEW },
      created: false,
      entry: { index: 0, name: IMAGE, matchedBy: 'name' },
    });
  });

  it('creates the entry when absent only with create, keeping comments', () => {
    const edit = setImageTag(SEED, { image: 'engex/other', tag: NEW, create: true });
    expect(edit.created).toBe(true);
    // A structural edit re-prints the file: every comment stays (the space before one is yaml's), and the entry is appended.
    expect(edit.text).toBe(`${SEED.replace('../../base   #', '../../base #')}  - name: engex/other\n    newTag: ${NEW}\n`);
  });

  it('creates the images list when there is none', () => {
    const edit = setImageTag('apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n# no images yet\nresources: [../../base]\n', {
      image: IMAGE,
      tag: NEW,
      create: true,
    });
    expect(parse(edit.text)).toEqual({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: ['../../base'],
      images: [{ name: IMAGE, newTag: NEW }],
    });
    expect(edit.text).toContain('# no images yet');
  });

  it('refuses a digest that would keep the old image, unless the target pins digests', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const pinned = SEED.replace(`newTag: ${OLD} # bumped by CI`, `newTag: ${OLD} # bumped by CI\n    digest: ${digest}`);
    expect(() => setImageTag(pinned, { image: IMAGE, tag: NEW })).toThrow(StaleDigestError);
    expect(() => setImageTag(pinned, { image: IMAGE, tag: NEW })).toThrow(/images\[0\] .* pins digest sha256:a{64}, .* set pinDigest: true/);

    const next = `sha256:${'c'.repeat(64)}`;
    const edit = setImageTag(pinned, { image: IMAGE, tag: NEW, digest: next });
    expect(edit).toMatchObject({ changed: true, previous: { tag: OLD, digest } });
    expect(edit.text).toBe(pinned.replace(OLD, NEW).replace(digest, next));
    expect(setImageTag(edit.text, { image: IMAGE, tag: NEW, digest: next }).changed).toBe(false);
  });

  it('adds the digest next to newTag when pinning an entry that had none', () => {
    const next = `sha256:${'c'.repeat(64)}`;
    const edit = setImageTag(SEED, { image: IMAGE, tag: NEW, digest: next });
    expect(parse(edit.text).images[0]).toEqual({ name: IMAGE, newTag: NEW, digest: next });
    expect(edit.text).toContain('# The service image');
  });

  it('never edits nothing: without a matching entry it lists what the file has', () => {
    const bootstrap = SEED.replace(`name: ${IMAGE}`, 'name: engex/halw');
    const attempt = () => setImageTag(bootstrap, { image: IMAGE, tag: NEW }, 'overlays/staging/kustomization.yaml');
    expect(attempt).toThrow(ImageNotFoundError);
    expect(attempt).toThrowErrorMatchingInlineSnapshot(`
      [ImageNotFoundError: overlays/staging/kustomization.yaml: no images[] entry deploys 460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow (compared name and newName with 460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow, exactly as kustomize does).
      The file has:
        images[0]: name=engex/halw newTag=0000000000000000000000000000000000000000
        images[1]: name=busybox newTag=1.36
      Fix the entry's name or the service's deployImageName, or pass --create to add an entry (it only takes effect if a container uses that name).]
    `);
  });

  it('does not match the name without its registry host: kustomize compares names as written (issue 20, finding 1)', () => {
    const short = SEED.replace(`name: ${IMAGE}`, 'name: engex/halow').replace(`newTag: ${OLD}`, 'newTag: old');
    expect(() => setImageTag(short, { image: IMAGE, tag: NEW })).toThrow(ImageNotFoundError);
  });

  it("matches the service's deployImageName given as an alias", () => {
    const aliased = SEED.replace(`name: ${IMAGE}`, 'name: registry.example.com/halow');
    expect(setImageTag(aliased, { image: IMAGE, tag: NEW, aliases: ['registry.example.com/halow'] }).entry.matchedBy).toBe('name');
    expect(() => setImageTag(aliased, { image: IMAGE, tag: NEW })).toThrow(ImageNotFoundError);
  });

  it('refuses two entries that would both apply, by name and by newName', () => {
    const both = SEED + `  - name: halow\n    newName: ${IMAGE}\n    newTag: x\n`;
    expect(() => setImageTag(both, { image: IMAGE, tag: NEW })).toThrow(/images\[0\] \(by name\), images\[2\] \(by newName\) all match/);
  });

  it('matches by newName when no entry has the name', () => {
    const renamed = SEED.replace(`name: ${IMAGE}`, `name: halow\n    newName: ${IMAGE}`);
    expect(parse(setImageTag(renamed, { image: IMAGE, tag: NEW }).text).images[0]).toEqual({ name: 'halow', newName: IMAGE, newTag: NEW });
  });

  it.each([
    ['an ambiguous image', SEED + `  - name: ${IMAGE}\n    newTag: x\n`, IMAGE, /image .* is ambiguous: images\[0\] \(by name\), images\[2\] \(by name\) all match/],
    ['another kind', 'apiVersion: apps/v1\nkind: Deployment\n', IMAGE, /is not a kustomization: kind is "Deployment"/],
    ['a foreign apiVersion', 'apiVersion: v1\nkind: Kustomization\n', IMAGE, /apiVersion is "v1", expected kustomize\.config\.k8s\.io/],
    ['a random mapping', 'hello: world\n', IMAGE, /no kind, apiVersion or any of resources/],
    ['a list', '- a\n', IMAGE, /expected a mapping at the top level/],
    ['broken YAML', 'kind: Kustomization\nimages: [\n', IMAGE, /is not valid YAML/],
    ['two documents', 'kind: Kustomization\n---\nkind: Kustomization\n', IMAGE, /holds 2 YAML documents/],
    ['images not a list', 'kind: Kustomization\nimages: {a: 1}\n', IMAGE, /images must be a list/],
  ])('rejects %s', (_name, text, image, message) => {
    expect(() => setImageTag(text, { image, tag: NEW }, 'overlays/staging/kustomization.yaml')).toThrow(ManifestError);
    expect(() => setImageTag(text, { image, tag: NEW }, 'overlays/staging/kustomization.yaml')).toThrow(message);
  });

  it('rejects a tag or image that cannot be written safely', () => {
    expect(() => setImageTag(SEED, { image: IMAGE, tag: 'a b' })).toThrow(/--tag "a b" is not a valid image tag/);
    expect(() => setImageTag(SEED, { image: IMAGE, tag: '-x' })).toThrow(ManifestError);
    expect(() => setImageTag(SEED, { image: 'x #y', tag: NEW })).toThrow(/--image "x #y" is not an image name/);
    expect(() => setImageTag(SEED, { image: `${IMAGE}:old`, tag: NEW })).toThrow(/is not an image name \(no tag, no digest\)/);
    expect(() => setImageTag(SEED, { image: IMAGE, tag: NEW, digest: 'sha256:abc' })).toThrow(/--digest "sha256:abc" is not a sha256 digest/);
  });
});

describe('withoutRegistry', () => {
  // Docker's rule: the first component is a registry when it has a dot or a port, or is localhost.
  it.each([
    [IMAGE, 'engex/halow'],
    ['127.0.0.1:5000/engex/halow', 'engex/halow'],
    ['localhost/halow', 'halow'],
  ])('%s -> %s', (name, expected) => expect(withoutRegistry(name)).toBe(expected));

  it.each(['engex/halow', 'halow'])('keeps %s, which names no registry', (name) => expect(withoutRegistry(name)).toBe(name));
});

describe('pickKustomizationFile', () => {
  it('accepts any one of the names kustomize reads', () => {
    expect(pickKustomizationFile('overlays/staging', ['README.md', 'kustomization.yml'])).toBe('kustomization.yml');
    expect(pickKustomizationFile('overlays/staging', ['Kustomization', 'patch.yaml'])).toBe('Kustomization');
  });

  it('refuses none, and two at once as kustomize does', () => {
    expect(() => pickKustomizationFile('overlays/staging', ['deploy.yaml'])).toThrow(
      /overlays\/staging has no kustomization: expected one of kustomization.yaml, kustomization.yml, Kustomization/,
    );
    expect(() => pickKustomizationFile('overlays/staging', ['kustomization.yaml', 'Kustomization'])).toThrow(/has 2 kustomization files \(kustomization.yaml, Kustomization\)/);
  });
});

describe('structural edits keep the rest of the file', () => {
  it('keeps number spellings and a flush sequence style', () => {
    const flush = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
replicas:
- name: halow
  count: 007
commonAnnotations:
  version: 1.10
images:
# pinned by digest until the first bump
- name: ${IMAGE}
  digest: sha256:${'b'.repeat(64)}
`;
    const digest = `sha256:${'c'.repeat(64)}`;
    // Only the digest line changes and newTag joins it, in the file's own flush style: 007 and 1.10 stay as written.
    expect(setImageTag(flush, { image: IMAGE, tag: NEW, digest }).text).toBe(flush.replace(`  digest: sha256:${'b'.repeat(64)}\n`, `  digest: ${digest}\n  newTag: ${NEW}\n`));
  });
});

describe('odd files (issue 20, findings 4 and 6)', () => {
  const BOM_CRLF = `\uFEFFapiVersion: kustomize.config.k8s.io/v1beta1\r\nkind: Kustomization\r\nimages:\r\n  - name: engex/halow # short\r\n    newTag: old\r\n`;

  it('edits in place in a file with a BOM and CRLF line ends, adding newName as a CRLF line after the last key', () => {
    const out = applyEntryEdits(BOM_CRLF, [{ index: 0, newTag: NEW, newName: IMAGE }]);
    expect(out).toBe(
      `\uFEFFapiVersion: kustomize.config.k8s.io/v1beta1\r\nkind: Kustomization\r\nimages:\r\n  - name: engex/halow # short\r\n    newTag: ${NEW}\r\n    newName: ${IMAGE}\r\n`,
    );
    expect(applyEntryEdits('images:\n  - { name: engex/halow, newTag: old }\n', [{ index: 0, newTag: NEW, newName: IMAGE }])).toBe(
      `images:\n  - { name: engex/halow, newTag: ${NEW}, newName: ${IMAGE} }\n`,
    );
  });

  it('refuses a newTag written as an alias or carrying an anchor, never re-printing the file', () => {
    const aliased = `\uFEFFkind: Kustomization\r\nlabels:\r\n  - pairs: { release: &tag old }\r\nimages:\r\n  - name: ${IMAGE}\r\n    newTag: *tag\r\n`;
    expect(() => setImageTag(aliased, { image: IMAGE, tag: NEW })).toThrow(YamlAliasError);
    expect(() => applyEntryEdits(aliased, [{ index: 0, newTag: NEW }])).toThrow(/images\[0\]\.newTag is a YAML alias or anchor/);
    const anchored = `kind: Kustomization\nimages:\n  - name: ${IMAGE}\n    newTag: &t old\n`;
    expect(() => applyEntryEdits(anchored, [{ index: 0, newTag: NEW }])).toThrow(YamlAliasError);
    // Reading resolves the alias, as kustomize does: the render's current tag is "old".
    expect(readImageEntries(aliased)[0]).toEqual({ name: IMAGE, newTag: 'old' });
  });

  it('refuses a kustomization over 1 MiB before parsing it', () => {
    const big = `kind: Kustomization\n# ${'x'.repeat(MAX_KUSTOMIZATION_BYTES)}\n`;
    expect(() => setImageTag(big, { image: IMAGE, tag: NEW }, 'o/kustomization.yaml')).toThrow(KustomizationTooLargeError);
    expect(() => readImageEntries(big, 'o/kustomization.yaml')).toThrow(/o\/kustomization.yaml is \d+ bytes; a kustomization may be at most 1048576 bytes \(1 MiB\)/);
  });

  it('a YAML error shows the offending line only, with its value hidden', () => {
    const credentials = `[default]\naws_access_key_id = ASIAEXAMPLEEXAMPLE12\nsession_token: IQoJb3JpZ2luX2VjEXAMPLE: more\nother_secret: keep-out\n`;
    let message = '';
    try {
      setImageTag(credentials, { image: IMAGE, tag: NEW }, 'o/kustomization.yaml');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(
      /^o\/kustomization.yaml is not valid YAML \(and \d+ more errors\):\n {2}line 2, column 1: Unexpected scalar at node end\n {4}aws_access_key_id = \*\*\*$/,
    );
    expect(message).not.toContain('IQoJb3JpZ2luX2Vj');
    expect(message).not.toContain('keep-out');
    expect(message).not.toContain('ASIAEXAMPLE');
    // The finding's file: a credentials file whose first bad line is the session token.
    const token = 'session_token: IQoJb3JpZ2luX2VjEXAMPLE: more\nkind: Kustomization\n';
    expect(() => setImageTag(token, { image: IMAGE, tag: NEW }, 'o/kustomization.yaml')).toThrow(
      /^o\/kustomization.yaml is not valid YAML( \(and \d+ more errors?\))?:\n {2}line 1, column \d+: [^\n"]+\n {4}session_token: \*\*\*$/,
    );
  });
});
