import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ManifestError } from './errors.js';
import { setImageTag } from './kustomization.js';

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
    const edit = setImageTag(SEED, IMAGE, NEW);
    expect(edit).toMatchObject({ changed: true, previousTag: OLD, created: false });
    expect(edit.text).toBe(SEED.replace(OLD, NEW));
  });

  it('keeps quoting, and quotes a tag YAML would read as a number', () => {
    expect(setImageTag(SEED, 'busybox', '1.37').text).toContain('newTag: "1.37"');
    const plain = SEED.replace(OLD, 'abc');
    expect(setImageTag(plain, IMAGE, '1234567').text).toContain(`newTag: "1234567" # bumped by CI`);
    expect(parse(setImageTag(plain, IMAGE, '1234567').text).images[0].newTag).toBe('1234567');
  });

  it('is a no-op when the tag is already current', () => {
    const current = setImageTag(SEED, IMAGE, NEW).text;
    expect(setImageTag(current, IMAGE, NEW)).toEqual({ text: current, changed: false, previousTag: NEW, created: false });
  });

  it('creates the entry when absent, keeping comments', () => {
    const edit = setImageTag(SEED, 'engex/other', NEW);
    expect(edit.created).toBe(true);
    expect(edit.text).toMatchInlineSnapshot(`
      "# Staging overlay for halow. Managed by humans AND engex-ci.
      apiVersion: kustomize.config.k8s.io/v1beta1
      kind: Kustomization

      resources:
        - ../../base # the shared deployment

      images:
        # The service image: engex-ci deploy bump sets newTag.
        - name: 460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow
          newTag: 0000000000000000000000000000000000000000 # bumped by CI
        - name: busybox
          newTag: "1.36"
        - name: engex/other
          newTag: 0123456789abcdef0123456789abcdef01234567
      "
    `);
  });

  it('creates the images list when there is none', () => {
    const edit = setImageTag('apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n# no images yet\nresources: [../../base]\n', IMAGE, NEW);
    expect(parse(edit.text)).toEqual({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: ['../../base'],
      images: [{ name: IMAGE, newTag: NEW }],
    });
    expect(edit.text).toContain('# no images yet');
  });

  it('drops a digest, which kustomize would prefer over newTag', () => {
    const pinned = SEED.replace(`newTag: ${OLD} # bumped by CI`, `digest: sha256:${'a'.repeat(64)}`);
    const edit = setImageTag(pinned, IMAGE, NEW);
    expect(parse(edit.text).images[0]).toEqual({ name: IMAGE, newTag: NEW });
    expect(edit.text).toContain('# The service image');
  });

  it('matches by newName when no entry has the name', () => {
    const renamed = SEED.replace(`name: ${IMAGE}`, `name: halow\n    newName: ${IMAGE}`);
    expect(parse(setImageTag(renamed, IMAGE, NEW).text).images[0]).toEqual({ name: 'halow', newName: IMAGE, newTag: NEW });
  });

  it.each([
    ['an ambiguous image', SEED + `  - name: ${IMAGE}\n    newTag: x\n`, IMAGE, /image .* is ambiguous: images\[0\], images\[2\] all match by name/],
    ['another kind', 'apiVersion: apps/v1\nkind: Deployment\n', IMAGE, /is not a kustomization: kind is "Deployment"/],
    ['a foreign apiVersion', 'apiVersion: v1\nkind: Kustomization\n', IMAGE, /apiVersion is "v1", expected kustomize\.config\.k8s\.io/],
    ['a random mapping', 'hello: world\n', IMAGE, /no kind, apiVersion or any of resources/],
    ['a list', '- a\n', IMAGE, /expected a mapping at the top level/],
    ['broken YAML', 'kind: Kustomization\nimages: [\n', IMAGE, /is not valid YAML/],
    ['two documents', 'kind: Kustomization\n---\nkind: Kustomization\n', IMAGE, /holds 2 YAML documents/],
    ['images not a list', 'kind: Kustomization\nimages: {a: 1}\n', IMAGE, /images must be a list/],
  ])('rejects %s', (_name, text, image, message) => {
    expect(() => setImageTag(text, image, NEW, 'overlays/staging/kustomization.yaml')).toThrow(ManifestError);
    expect(() => setImageTag(text, image, NEW, 'overlays/staging/kustomization.yaml')).toThrow(message);
  });

  it('rejects a tag or image that cannot be written safely', () => {
    expect(() => setImageTag(SEED, IMAGE, 'a b')).toThrow(/--tag "a b" is not a valid image tag/);
    expect(() => setImageTag(SEED, IMAGE, '-x')).toThrow(ManifestError);
    expect(() => setImageTag(SEED, 'x #y', NEW)).toThrow(/--image "x #y" is not an image name/);
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
    expect(setImageTag(flush, IMAGE, NEW).text).toBe(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
replicas:
- name: halow
  count: 007
commonAnnotations:
  version: 1.10
images:
# pinned by digest until the first bump
- name: ${IMAGE}
  newTag: ${NEW}
`);
  });
});
