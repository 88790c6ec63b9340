import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isNotPendingDeletion, isPendingDeletion as readsAsPendingDeletion, isPendingImport } from '../../../functions/lib/aws/failures.ts';
import { KEY_STATES, KeyStateError, assertKeyState, isPendingDeletion, type KeyAction } from '../../../embedded-aws/kms/key-states.ts';
import type { KeyState, KmsKey } from '../../../embedded-aws/kms/key-store.ts';

const ACTIONS: KeyAction[] = [
  'enable-or-disable',
  'schedule-deletion',
  'cancel-deletion',
  'cryptographic',
  'delete-imported-material',
  'import-material',
  'replicate',
  'update-primary-region',
  'manage-aliases-and-tags',
  'update-description',
];

const keyArn = fc.uuid().map((id) => `arn:aws:kms:eu-west-1:111122223333:key/${id}`);
const state = fc.constantFrom(...KEY_STATES);
const action = fc.constantFrom(...ACTIONS);
const keyIn = (arn: string, keyState: KeyState) => ({ arn, state: keyState }) as KmsKey;

function refusal(key: KmsKey, keyAction: KeyAction): KeyStateError | undefined {
  try {
    assertKeyState(key, keyAction);
    return undefined;
  } catch (error) {
    return error as KeyStateError;
  }
}

// The embedded KMS and the pipeline meet in these refusals: what the embedded KMS answers, the
// pipeline's error reading (functions/lib/aws/failures.ts) must read as KMS means it.
describe('the embedded KMS key-state rules, for any key, state and action', () => {
  it('never lets a key pending deletion encrypt, decrypt or sign, and says it is pending deletion in words the pipeline reads', () => {
    fc.assert(
      fc.property(keyArn, fc.constantFrom<KeyState>('PendingDeletion', 'PendingReplicaDeletion'), (arn, keyState) => {
        const error = refusal(keyIn(arn, keyState), 'cryptographic');
        expect(error).toBeInstanceOf(KeyStateError);
        expect(error).toMatchObject({ keyArn: arn, keyState, message: `${arn} is pending deletion.` });
        expect(readsAsPendingDeletion(error)).toBe(true);
      }),
      { numRuns: 20 },
    );
  });

  it('serves cryptography only from an Enabled key (or one Updating), refusing a disabled key as disabled', () => {
    fc.assert(
      fc.property(keyArn, state, (arn, keyState) => {
        const error = refusal(keyIn(arn, keyState), 'cryptographic');
        expect(error === undefined).toBe(keyState === 'Enabled' || keyState === 'Updating');
        if (keyState === 'Disabled') expect(error).toMatchObject({ code: 'DisabledException', message: `${arn} is disabled.` });
        else if (error) expect(error.code).toBe('KMSInvalidStateException');
      }),
      { numRuns: 60 },
    );
  });

  it('cancels deletion exactly when the key is pending deletion, refusing any other as "not pending deletion"', () => {
    fc.assert(
      fc.property(keyArn, state, (arn, keyState) => {
        const error = refusal(keyIn(arn, keyState), 'cancel-deletion');
        expect(error === undefined).toBe(isPendingDeletion(keyState));
        if (error) {
          expect(error).toMatchObject({ code: 'KMSInvalidStateException', message: `${arn} is not pending deletion.` });
          expect(isNotPendingDeletion(error)).toBe(true);
          expect(readsAsPendingDeletion(error)).toBe(false);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('refuses to schedule a key already pending deletion, in words that tell the pipeline it is scheduled already', () => {
    fc.assert(
      fc.property(keyArn, state, (arn, keyState) => {
        const error = refusal(keyIn(arn, keyState), 'schedule-deletion');
        if (isPendingDeletion(keyState)) expect(readsAsPendingDeletion(error)).toBe(true);
        if (keyState === 'Enabled' || keyState === 'Disabled' || keyState === 'PendingImport') expect(error).toBeUndefined();
      }),
      { numRuns: 60 },
    );
  });

  it('refuses to disable a key pending deletion or import in words the pipeline reads as such', () => {
    fc.assert(
      fc.property(keyArn, state, (arn, keyState) => {
        const error = refusal(keyIn(arn, keyState), 'enable-or-disable');
        expect(error === undefined).toBe(keyState === 'Enabled' || keyState === 'Disabled' || keyState === 'Unavailable');
        expect(readsAsPendingDeletion(error)).toBe(isPendingDeletion(keyState));
        expect(isPendingImport(error)).toBe(keyState === 'PendingImport');
        if (error) expect(error).toMatchObject({ code: 'KMSInvalidStateException', keyArn: arn, keyState });
      }),
      { numRuns: 60 },
    );
  });

  it('never lets any action but cancelling, deleting imported material or reading touch a key pending deletion', () => {
    fc.assert(
      fc.property(keyArn, fc.constantFrom<KeyState>('PendingDeletion', 'PendingReplicaDeletion'), action, (arn, keyState, keyAction) => {
        const allowed = refusal(keyIn(arn, keyState), keyAction) === undefined;
        expect(allowed).toBe(keyAction === 'cancel-deletion' || keyAction === 'delete-imported-material');
      }),
      { numRuns: 60 },
    );
  });

  it('changes the primary Region only between Enabled keys, and replicates no key pending deletion', () => {
    fc.assert(
      fc.property(keyArn, state, (arn, keyState) => {
        expect(refusal(keyIn(arn, keyState), 'update-primary-region') === undefined).toBe(keyState === 'Enabled');
        if (keyState === 'Disabled') expect(refusal(keyIn(arn, keyState), 'update-primary-region')).toMatchObject({ code: 'DisabledException' });
        if (isPendingDeletion(keyState)) expect(refusal(keyIn(arn, keyState), 'replicate')).toBeDefined();
      }),
      { numRuns: 60 },
    );
  });

  it('counts exactly PendingDeletion and PendingReplicaDeletion as pending deletion', () => {
    for (const keyState of KEY_STATES) {
      expect(isPendingDeletion(keyState)).toBe(keyState === 'PendingDeletion' || keyState === 'PendingReplicaDeletion');
    }
  });
});
