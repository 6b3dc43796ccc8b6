import { describe, expect, it } from 'vitest';
import { ManifestError } from './errors.js';
import { readImageEntry, setImageTag } from './kustomization.js';

const IMAGE = '460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow';
const TAG = '0123456789abcdef0123456789abcdef01234567';

describe('readImageEntry', () => {
  it('reads the entry setImageTag edits, matched the same way, with tag and digest', () => {
    const text = `kind: Kustomization\nimages:\n  - name: other\n    newTag: x\n  - name: engex/halow\n    newName: ${IMAGE}\n    newTag: "${TAG}"\n    digest: sha256:${'e'.repeat(64)}\n`;
    expect(readImageEntry(text, IMAGE)).toEqual({ index: 1, matchedBy: 'newName', newTag: TAG, digest: `sha256:${'e'.repeat(64)}` });
    // The entry renames engex/halow away: kustomize renders IMAGE, so it does not deploy engex/halow.
    expect(readImageEntry(text, 'engex/halow')).toBeUndefined();
    // After a bump the reader sees exactly what was written.
    const digest = `sha256:${'a'.repeat(64)}`;
    const bumped = setImageTag(text, { image: IMAGE, tag: 'f'.repeat(40), digest }).text;
    expect(readImageEntry(bumped, IMAGE)).toEqual({ index: 1, matchedBy: 'newName', newTag: 'f'.repeat(40), digest });
  });

  it('keeps an unquoted number tag as written', () => {
    expect(readImageEntry(`images:\n  - name: ${IMAGE}\n    newTag: 1.10\n`, IMAGE)).toEqual({ index: 0, matchedBy: 'name', newTag: '1.10' });
  });

  it('is undefined without a matching entry and throws on ambiguity or a non-kustomization', () => {
    expect(readImageEntry('kind: Kustomization\nresources: [../base]\n', IMAGE)).toBeUndefined();
    expect(() => readImageEntry(`images:\n  - name: ${IMAGE}\n  - name: ${IMAGE}\n`, IMAGE, 'o/kustomization.yml')).toThrow(
      new ManifestError(`o/kustomization.yml: image ${IMAGE} is ambiguous: images[0] (by name), images[1] (by name) all match; keep one entry per image`),
    );
    expect(() => readImageEntry('kind: Deployment\n', IMAGE)).toThrow(/not a kustomization: kind is "Deployment"/);
  });
});
