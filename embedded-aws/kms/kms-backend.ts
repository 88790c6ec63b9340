import type { Clock } from '../clock.ts';
import { AwsServiceError, type JsonObject, type RequestContext } from '../protocol.ts';
import type { KeyDeletion } from './key-deletion.ts';
import type { KeyStore, KmsKey } from './key-store.ts';
import type { KeyTransitions } from './key-transitions.ts';

/** What every KMS operation works on: the keys, the one clock, the deletion and transient states of keys. */
export interface KmsBackend {
  store: KeyStore;
  clock: Clock;
  deletion: KeyDeletion;
  transitions: KeyTransitions;
}

export type KmsOperation = (
  kms: KmsBackend,
  input: JsonObject,
  context: RequestContext,
) => JsonObject | Promise<JsonObject>;

/**
 * AWS managed keys (aws/s3, aws/rds, ...) cannot be disabled, deleted, tagged or aliased by
 * customers: only KeyManager CUSTOMER keys qualify (docs/aws-facts.md). No AWS document gives the exact
 * error. Their key policies grant no administrative permission to anyone, so the refusal is an
 * authorization failure, AccessDeniedException, raised before the key's state is considered.
 */
export function assertCustomerManaged(key: KmsKey, operation: string, context: RequestContext): void {
  if (key.keyManager === 'CUSTOMER') return;
  throw new AwsServiceError(
    'AccessDeniedException',
    `User: arn:aws:iam::${context.accountId}:root is not authorized to perform: kms:${operation} on resource: ${key.arn} because no resource-based policy allows the kms:${operation} action`,
  );
}
