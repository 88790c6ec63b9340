import { describe, expect, it } from 'vitest';
import { KeyNotOwnedBySubject, DeletionOverdue, ErasureError } from '../../../functions/lib/erasure/errors.ts';

describe('named outcomes', () => {
  it('carry the name the state machine routes on, and say whether they protect a key', () => {
    const refusal = new KeyNotOwnedBySubject('not theirs');
    expect(refusal).toBeInstanceOf(ErasureError);
    expect(refusal).toBeInstanceOf(Error);
    expect(refusal).toMatchObject({ name: 'KeyNotOwnedBySubject', message: 'not theirs', refusal: true });
    expect(new DeletionOverdue('late')).toMatchObject({ name: 'DeletionOverdue', refusal: false });
  });
});
