import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import {
  AwsServiceError,
  type EventSink,
  type FaultInjector,
  type JsonObject,
  type JsonService,
  type RequestContext,
} from '../protocol.ts';
import { ALIAS_AND_TAG_OPERATIONS } from './alias-and-tag-operations.ts';
import { CRYPTOGRAPHIC_OPERATIONS } from './cryptographic-operations.ts';
import { KeyDeletion } from './key-deletion.ts';
import { createCustomerManagedKey, KEY_OPERATIONS, newKey } from './key-operations.ts';
import { isPendingDeletion, KeyStateError } from './key-states.ts';
import { DEFAULT_TRANSITION_MS, KeyTransitions } from './key-transitions.ts';
import { restoreKeyStore, snapshotKeyStore, type KmsSnapshot } from './key-store-snapshot.ts';
import { aliasArn, KeyStore, type KmsScope } from './key-store.ts';
import { failedCallEvent } from './kms-events.ts';
import type { KmsBackend, KmsOperation } from './kms-backend.ts';
import { MULTI_REGION_OPERATIONS } from './multi-region-operations.ts';
import { RequestQuotas, type QuotaSetting } from './request-quotas.ts';
import { SIGNING_OPERATIONS } from './signing-operations.ts';

export interface EmbeddedKmsOptions {
  clock: Clock;
  /** Receives `KMS CMK Deletion` events and CloudTrail records of calls refused for a key pending deletion. */
  emit?: EventSink;
  faults?: FaultInjector;
  /** `true`: KMS's request quotas from docs/aws-facts.md; an object overrides or adds some; off otherwise. */
  quotas?: QuotaSetting;
  /** How long after its DeletionDate a key is really deleted: KMS may take up to 24 hours. */
  deletionLagMs?: number;
  /** How long a new replica stays Creating and UpdatePrimaryRegion's keys Updating: "a few seconds" in KMS. */
  transitionMs?: number;
  /** The account `createAwsManagedKey` seeds when given none. */
  accountId?: string;
  /** A key store saved by `snapshot()`: the KMS starts with its keys, aliases and waiting periods. */
  restore?: object;
}

/** An AWS::KMS::Key of serverless.yml, with the key ID the deployment planned for it. */
export interface DeclaredKey {
  keyId: string;
  keySpec: string;
  keyUsage: string;
  description: string;
  tags: { TagKey: string; TagValue: string }[];
  multiRegion: boolean;
  enabled: boolean;
}

const OPERATIONS = new Map<string, KmsOperation>(
  Object.entries({
    ...KEY_OPERATIONS,
    ...MULTI_REGION_OPERATIONS,
    ...CRYPTOGRAPHIC_OPERATIONS,
    ...SIGNING_OPERATIONS,
    ...ALIAS_AND_TAG_OPERATIONS,
  }),
);

/**
 * AWS KMS on loopback, speaking JSON 1.1 (`TrentService.<Operation>`), so the real SDK and CLI can
 * drive it. One endpoint serves every Region: each request runs in the Region of its SigV4
 * credential scope, and keys, aliases and request quotas live per account and Region, as in KMS.
 * Keys follow KMS's key-state rules, encrypt for real (AES-256-GCM), replicate across Regions as
 * multi-Region keys, and are deleted on the shared virtual clock once their waiting period is over.
 */
export class EmbeddedKms implements JsonService {
  readonly targetPrefix = 'TrentService';
  private readonly backend: KmsBackend;
  private readonly emit: EventSink | undefined;
  private readonly faults: FaultInjector | undefined;
  private readonly quotas: RequestQuotas;
  private readonly defaultAccountId: string;

  constructor(options: EmbeddedKmsOptions) {
    const store = options.restore ? restoreKeyStore(options.restore) : new KeyStore();
    const deletion = new KeyDeletion({
      store,
      clock: options.clock,
      emit: options.emit,
      deletionLagMs: options.deletionLagMs ?? 0,
    });
    const transitions = new KeyTransitions({ clock: options.clock, durationMs: options.transitionMs ?? DEFAULT_TRANSITION_MS });
    for (const key of store.allKeys()) {
      deletion.resume(key);
      transitions.resume(key);
    }
    this.backend = { store, clock: options.clock, deletion, transitions };
    this.emit = options.emit;
    this.faults = options.faults;
    this.quotas = new RequestQuotas(options.clock, options.quotas);
    this.defaultAccountId = options.accountId ?? '111122223333';
  }

  async handle(operation: string, input: JsonObject, context: RequestContext): Promise<JsonObject> {
    this.backend.transitions.settleDueKeys();
    this.backend.deletion.deleteDueKeys();
    const run = OPERATIONS.get(operation);
    if (!run) throw new AwsServiceError('UnknownOperationException', `The embedded KMS does not implement ${operation}.`);
    const fault = this.faults?.({ service: 'kms', operation, input, region: context.region });
    if (fault) throw fault;
    this.quotas.take(context, operation, this.signingKeySpec(operation, input, context));
    try {
      return await run(this.backend, input, context);
    } catch (error) {
      if (error instanceof KeyStateError && isPendingDeletion(error.keyState)) {
        this.emit?.(
          failedCallEvent({
            operation,
            input,
            context,
            errorCode: error.code,
            errorMessage: error.message,
            keyArn: error.keyArn,
            time: this.backend.clock.now(),
          }),
        );
      }
      throw error;
    }
  }

  /**
   * Seeds an AWS managed key such as `alias/aws/s3` (KeyManager AWS), as AWS creates one the first
   * time a service uses it. Idempotent: the alias's existing key is returned.
   */
  createAwsManagedKey(region: string, aliasName: string, accountId = this.defaultAccountId): { keyId: string; arn: string } {
    if (!/^alias\/aws\/[a-zA-Z0-9/_-]+$/.test(aliasName)) {
      throw new RangeError(`an AWS managed key's alias is alias/aws/<service>, got ${aliasName}`);
    }
    const scope = { accountId, region };
    const { store, clock } = this.backend;
    const existing = store.findAlias(scope, aliasName);
    const existingKey = existing && store.findKey(scope, existing.targetKeyId);
    if (existingKey) return { keyId: existingKey.keyId, arn: existingKey.arn };
    const service = aliasName.slice('alias/aws/'.length);
    const key = newKey(scope, {
      keyId: randomUUID(),
      keyManager: 'AWS',
      origin: 'AWS_KMS',
      multiRegionKeyType: undefined,
      description: `Default key that protects my ${service} resources when no other key is defined`,
      creationDate: clock.now(),
    });
    store.addKey(key);
    store.putAlias(scope, {
      aliasName,
      arn: aliasArn(scope, aliasName),
      targetKeyId: key.keyId,
      creationDate: key.creationDate,
      lastUpdatedDate: key.creationDate,
    });
    return { keyId: key.keyId, arn: key.arn };
  }

  /**
   * Creates an AWS::KMS::Key of serverless.yml under the key ID its deployment planned, refusing
   * what CreateKey would refuse. A key with that ID that already exists (state kept across a
   * restart) is the deployed key: it is returned as it is, whatever its state.
   */
  deployKey(scope: KmsScope, declared: DeclaredKey): { keyId: string; arn: string } {
    const existing = this.backend.store.findKey(scope, declared.keyId);
    if (existing) return { keyId: existing.keyId, arn: existing.arn };
    const key = createCustomerManagedKey(
      this.backend,
      {
        KeySpec: declared.keySpec,
        KeyUsage: declared.keyUsage,
        Description: declared.description,
        Tags: declared.tags,
        MultiRegion: declared.multiRegion,
      },
      scope,
      declared.keyId,
    );
    if (!declared.enabled) key.state = 'Disabled';
    return { keyId: key.keyId, arn: key.arn };
  }

  /** Points an AWS::KMS::Alias of serverless.yml at its key, through CreateAlias or UpdateAlias. */
  async deployAlias(scope: KmsScope, aliasName: string, targetKeyId: string): Promise<void> {
    const context: RequestContext = { ...scope, accessKeyId: 'cloudformation.amazonaws.com', requestId: randomUUID() };
    const existing = this.backend.store.findAlias(scope, aliasName);
    if (existing?.targetKeyId === targetKeyId) return;
    const operation = existing ? 'UpdateAlias' : 'CreateAlias';
    await OPERATIONS.get(operation)?.(this.backend, { AliasName: aliasName, TargetKeyId: targetKeyId }, context);
  }

  /** Every key and alias, for `restore` in a later EmbeddedKms (see KmsSnapshot). */
  snapshot(): KmsSnapshot {
    this.backend.transitions.settleDueKeys();
    this.backend.deletion.deleteDueKeys();
    return snapshotKeyStore(this.backend.store);
  }

  /** Sign and Verify are throttled by the kind of key they name, ECC or RSA. */
  private signingKeySpec(operation: string, input: JsonObject, context: RequestContext): string | undefined {
    if ((operation !== 'Sign' && operation !== 'Verify') || typeof input.KeyId !== 'string') return undefined;
    try {
      return this.backend.store.resolveKey(context, input.KeyId).keySpec;
    } catch {
      return undefined;
    }
  }

  /** Stops the deletion timers; scheduled keys are still deleted lazily if the service is called again. */
  close(): void {
    this.backend.deletion.close();
    this.backend.transitions.close();
  }
}
