import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../functions/lib/erasure/canonical-json.ts';

// The scheme itself (key order, numbers) is tested with the certificate it serves, in certificate.test.ts.
describe('canonicalJson', () => {
  it.each([
    ['undefined', undefined],
    ['a function', () => 'certificate'],
  ])('refuses %s, which has no JSON form, with a TypeError', (_, value) => {
    expect(() => canonicalJson(value)).toThrow(new TypeError('only JSON values have a canonical form'));
  });
});
