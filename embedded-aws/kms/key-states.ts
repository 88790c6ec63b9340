import { AwsServiceError } from '../protocol.ts';
import type { KeyState, KmsKey } from './key-store.ts';

/** The groups of operations that KMS's key-state table treats alike (docs/aws-facts.md, "KMS key states"). */
export type KeyAction =
  | 'enable-or-disable'
  | 'schedule-deletion'
  | 'cancel-deletion'
  | 'cryptographic'
  | 'delete-imported-material'
  | 'import-material'
  | 'replicate'
  | 'update-primary-region'
  | 'manage-aliases-and-tags'
  | 'update-description';

export const KEY_STATES: readonly KeyState[] = [
  'Creating',
  'Enabled',
  'Disabled',
  'PendingDeletion',
  'PendingReplicaDeletion',
  'PendingImport',
  'Unavailable',
  'Updating',
];

const ALLOWED_STATES: Record<KeyAction, readonly KeyState[]> = {
  'enable-or-disable': ['Enabled', 'Disabled', 'Unavailable'],
  'schedule-deletion': ['Enabled', 'Disabled', 'PendingImport', 'Unavailable', 'Creating'],
  'cancel-deletion': ['PendingDeletion', 'PendingReplicaDeletion'],
  cryptographic: ['Enabled', 'Updating'],
  // On a key pending import, deleting its (absent) material is a no-op, not an error.
  'delete-imported-material': ['Enabled', 'Disabled', 'PendingDeletion', 'PendingReplicaDeletion', 'PendingImport'],
  'import-material': ['PendingImport', 'Enabled', 'Disabled'],
  // A primary pending deletion or pending replica deletion "cannot be replicated" (ScheduleKeyDeletion
  // reference), nor can a new primary while Updating (UpdatePrimaryRegion reference). Not documented:
  // a Disabled primary, and one still awaiting its imported material (PendingImport). Key state is
  // not a shared property and KMS never copies imported material, so we replicate both.
  replicate: ['Enabled', 'Disabled', 'PendingImport'],
  // "Both the primary key and the replica key must be in the Enabled key state when the operation
  // starts" (Developer Guide, "Change the primary key in a set of multi-Region keys").
  'update-primary-region': ['Enabled'],
  // Not in the facts: KMS's key-state table refuses aliases and tags for keys pending deletion;
  // the stricter reading keeps the pipeline from relying on tagging a key it has already scheduled.
  'manage-aliases-and-tags': ['Enabled', 'Disabled', 'PendingImport', 'Unavailable', 'Creating', 'Updating'],
  // KMS's key-state table treats UpdateKeyDescription as it treats tags: refused only pending deletion.
  'update-description': ['Enabled', 'Disabled', 'PendingImport', 'Unavailable', 'Creating', 'Updating'],
};

/** How KMS names a state in its messages: "<arn> is pending deletion.", "<arn> is pending import.". */
const STATE_IN_MESSAGES: Record<KeyState, string> = {
  Creating: 'creating',
  Enabled: 'enabled',
  Disabled: 'disabled',
  PendingDeletion: 'pending deletion',
  // docs/aws-facts.md: DisableKey on PendingReplicaDeletion answers "<arn> is pending deletion." too.
  PendingReplicaDeletion: 'pending deletion',
  PendingImport: 'pending import',
  Unavailable: 'unavailable',
  Updating: 'updating',
};

/** A refusal because of the key's state; the embedded KMS records such failures in CloudTrail. */
export class KeyStateError extends AwsServiceError {
  readonly keyArn: string;
  readonly keyState: KeyState;

  constructor(code: string, message: string, key: KmsKey) {
    super(code, message);
    this.keyArn = key.arn;
    this.keyState = key.state;
  }
}

export function isPendingDeletion(state: KeyState): boolean {
  return state === 'PendingDeletion' || state === 'PendingReplicaDeletion';
}

export function assertKeyState(key: KmsKey, action: KeyAction): void {
  if (ALLOWED_STATES[action].includes(key.state)) return;
  throw keyStateRefusal(key, action);
}

function keyStateRefusal(key: KmsKey, action: KeyAction): KeyStateError {
  if (action === 'cancel-deletion') {
    return new KeyStateError('KMSInvalidStateException', `${key.arn} is not pending deletion.`, key);
  }
  if ((action === 'cryptographic' || action === 'update-primary-region') && key.state === 'Disabled') {
    return new KeyStateError('DisabledException', `${key.arn} is disabled.`, key);
  }
  // docs/aws-facts.md allows DisabledException or KMSInvalidStateException for cryptographic use of a key
  // pending deletion. We answer KMSInvalidStateException "<arn> is pending deletion.": the message
  // is what AWS's CloudTrail metric-filter recipe matches, and callers must accept both codes anyway.
  return new KeyStateError('KMSInvalidStateException', `${key.arn} is ${STATE_IN_MESSAGES[key.state]}.`, key);
}
