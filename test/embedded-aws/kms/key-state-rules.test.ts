import { describe, expect, it } from 'vitest';
import { assertKeyState, type KeyAction } from '../../../embedded-aws/kms/key-states.ts';
import type { KeyState, KmsKey } from '../../../embedded-aws/kms/key-store.ts';

/**
 * The key-state table's rows for states the embedded KMS never enters through its API (Creating
 * and Updating are transient multi-Region states, Unavailable belongs to custom key stores), so
 * code written against them is still checked against the table.
 */
const ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function keyIn(state: KeyState): KmsKey {
  return { arn: ARN, state } as KmsKey;
}

function refusal(state: KeyState, action: KeyAction): unknown {
  try {
    assertKeyState(keyIn(state), action);
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('key-state rules for transient and custom-key-store states', () => {
  it.each<[KeyAction, KeyState]>([
    ['enable-or-disable', 'Unavailable'],
    ['schedule-deletion', 'Unavailable'],
    ['schedule-deletion', 'Creating'],
    ['cryptographic', 'Updating'],
  ])('allows %s on a key in state %s', (action, state) => {
    expect(refusal(state, action)).toBeUndefined();
  });

  it.each<[KeyAction, KeyState, string]>([
    ['enable-or-disable', 'Creating', 'creating'],
    ['enable-or-disable', 'Updating', 'updating'],
    ['schedule-deletion', 'Updating', 'updating'],
    ['cryptographic', 'Unavailable', 'unavailable'],
    ['cryptographic', 'Creating', 'creating'],
    ['delete-imported-material', 'Creating', 'creating'],
    ['delete-imported-material', 'Updating', 'updating'],
  ])('refuses %s on a key in state %s with KMSInvalidStateException', (action, state, phrase) => {
    expect(refusal(state, action)).toMatchObject({
      name: 'KMSInvalidStateException',
      message: `${ARN} is ${phrase}.`,
      keyState: state,
    });
  });

  it.each<KeyState>(['Creating', 'Updating', 'Unavailable'])(
    'refuses to cancel deletion of a key in state %s',
    (state) => {
      expect(refusal(state, 'cancel-deletion')).toMatchObject({
        name: 'KMSInvalidStateException',
        message: `${ARN} is not pending deletion.`,
      });
    },
  );
});
