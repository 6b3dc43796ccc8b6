import { describe, expect, it } from 'vitest';
import {
  ImageNotReachedError,
  ImageRenderMismatchError,
  applyImageEntries,
  isImageMatched,
  planImageEdits,
  readContainerImages,
  splitImage,
  type ContainerImage,
} from './kustomize-images.js';
import { ManifestError } from './errors.js';

const ECR = '460210468233.dkr.ecr.us-east-1.amazonaws.com';
const IMAGE = `${ECR}/engex/halow`;
const SHA = '0123456789abcdef0123456789abcdef01234567';
const at = (image: string, path = 'spec.template.spec.containers[0]'): ContainerImage => ({ resource: 'Deployment/halow', path, container: 'halow', image });

describe("kustomize's image matching (api/internal/image/image.go)", () => {
  it.each([
    [`${IMAGE}:bootstrap`, IMAGE, true],
    [`${IMAGE}:bootstrap`, 'engex/halow', false],
    ['engex/halow:bootstrap', IMAGE, false],
    ['engex/halow', 'engex/halow', true],
    [`engex/halow@sha256:${'a'.repeat(64)}`, 'engex/halow', true],
    [`engex/halow:old@sha256:${'a'.repeat(64)}`, 'engex/halow', true],
    ['engex/halow-canary:1', 'engex/halow', false],
    ['localhost:5000/halow:1', 'localhost:5000/halow', true],
    // The name is pasted into the regexp unquoted: kustomize's `.` matches any character.
    ['460210468233xdkr.ecr.us-east-1.amazonaws.com/engex/halow:1', IMAGE, true],
    ['engex/halow:1', '[', false],
  ])('%s matched by name %s: %s', (value, name, expected) => expect(isImageMatched(value, name)).toBe(expected));

  it.each([
    ['engex/halow', { name: 'engex/halow', tag: '', digest: '' }],
    ['localhost:5000/halow:1', { name: 'localhost:5000/halow', tag: '1', digest: '' }],
    [`${IMAGE}:old@sha256:abc`, { name: IMAGE, tag: 'old', digest: 'sha256:abc' }],
    [`${IMAGE}@sha256:abc`, { name: IMAGE, tag: '', digest: 'sha256:abc' }],
  ])('splits %s', (ref, parts) => expect(splitImage(ref)).toEqual(parts));

  it('applies entries in order, so a newName chain reaches the last entry; a new tag drops the old digest', () => {
    const entries = [
      { name: 'halow', newName: 'engex/halow' },
      { name: 'engex/halow', newName: IMAGE, newTag: 'old' },
      { name: 'other', newTag: 'x' },
    ];
    expect(applyImageEntries('halow:bootstrap', entries)).toEqual({ image: `${IMAGE}:old`, last: 1 });
    expect(applyImageEntries(`${IMAGE}:a@sha256:abc`, [{ name: IMAGE, newTag: 'b' }]).image).toBe(`${IMAGE}:b`);
    expect(applyImageEntries(`${IMAGE}:a`, [{ name: IMAGE, digest: 'sha256:d' }]).image).toBe(`${IMAGE}@sha256:d`);
    expect(applyImageEntries('nginx:1', entries)).toEqual({ image: 'nginx:1' });
  });
});

describe('readContainerImages', () => {
  it('finds containers and initContainers at any depth (CronJob jobTemplate too), skipping CRDs', () => {
    const rendered = `apiVersion: batch/v1
kind: CronJob
metadata: { name: nightly, namespace: jobs }
spec:
  jobTemplate:
    spec:
      template:
        spec:
          initContainers: [{ name: init, image: a:1 }]
          containers: [{ name: main, image: b:2 }]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: x }
spec: { containers: [{ name: no, image: c:3 }] }
`;
    expect(readContainerImages(rendered)).toEqual([
      { resource: 'jobs/CronJob/nightly', path: 'spec.jobTemplate.spec.template.spec.initContainers[0]', container: 'init', image: 'a:1' },
      { resource: 'jobs/CronJob/nightly', path: 'spec.jobTemplate.spec.template.spec.containers[0]', container: 'main', image: 'b:2' },
    ]);
  });
});

describe('planImageEdits', () => {
  const plan = (written: ContainerImage[], entries: Parameters<typeof planImageEdits>[0]['entries'], digest?: string) =>
    planImageEdits({ written, entries, image: IMAGE, tag: SHA, digest, file: 'o/kustomization.yaml' });

  it('sets newTag on the entry kustomize applies last', () => {
    expect(plan([at(`${IMAGE}:bootstrap`)], [{ name: IMAGE, newTag: 'old' }])).toEqual([{ index: 0, newTag: SHA }]);
  });

  it('adds newName when the entry would leave a short name (Docker Hub)', () => {
    expect(plan([at('engex/halow:bootstrap')], [{ name: 'engex/halow', newTag: 'old' }])).toEqual([{ index: 0, newTag: SHA, newName: IMAGE }]);
  });

  it('refuses a container no entry reaches, listing what the render writes', () => {
    const attempt = () => plan([at(`${IMAGE}:bootstrap`)], [{ name: 'engex/halow', newTag: 'old' }]);
    expect(attempt).toThrow(ImageNotReachedError);
    expect(attempt).toThrow(/\n {2}Deployment\/halow spec.template.spec.containers\[0\] \(halow\): 460210468233\.dkr\.ecr\.us-east-1\.amazonaws\.com\/engex\/halow:bootstrap\n/);
  });

  it('refuses an entry renaming to another repository, and an added newName that a later entry would override', () => {
    expect(() => plan([at(`${IMAGE}:b`)], [{ name: IMAGE, newName: `${IMAGE}-canary`, newTag: 'old' }])).toThrow(ImageRenderMismatchError);
    expect(() =>
      plan(
        [at('engex/halow:b')],
        [
          { name: 'engex/halow', newTag: 'old' },
          { name: IMAGE, newTag: 'pinned' },
        ],
      ),
    ).toThrow(/would still render .*:pinned/);
  });

  it('refuses a pinned digest unless pinning, and then writes it', () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    expect(() => plan([at(`${IMAGE}:b`)], [{ name: IMAGE, newTag: 'old', digest: 'sha256:a' }])).toThrow(ManifestError);
    expect(plan([at(`${IMAGE}:b`)], [{ name: IMAGE, newTag: 'old', digest: 'sha256:a' }], digest)).toEqual([{ index: 0, newTag: SHA, digest }]);
  });
});
