import {
  DescribeKeyCommand,
  DisableKeyCommand,
  DisabledException,
  KMSClient,
  KMSInternalException,
  KMSInvalidStateException,
  ListResourceTagsCommand,
  NotFoundException,
  ScheduleKeyDeletionCommand,
  SignCommand,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { now } from '../../functions/lib/runtime/clock.ts';
import { ACCOUNT_ID, REGION } from './settings.ts';

/**
 * A small in-memory KMS behind aws-sdk-client-mock, for unit and state machine tests: the handlers
 * talk to the real KMSClient, whose `send` answers from this table with the real SDK exception
 * classes and the messages docs/aws-facts.md lists. Integration tests use the embedded AWS instead.
 */
export interface KeyRecord {
  keyId: string;
  keyState: string;
  keyManager: 'CUSTOMER' | 'AWS';
  accountId: string;
  tags: Record<string, string>;
  aliases: string[];
  deletionDate?: Date;
}

export class KmsDouble {
  readonly keys = new Map<string, KeyRecord>();
  readonly mock: AwsClientStub<KMSClient>;
  /** The public half of the signing key that Sign uses, to verify certificates with. */
  readonly signingPublicKey: KeyObject;
  /** Failures to inject, consumed in order, per command name. */
  readonly failures = new Map<string, Error[]>();
  private sequence = 0;
  private readonly deleteWhenDue: boolean;
  private readonly deletionLagMs: number;

  /**
   * `deleteWhenDue`: a key whose DeletionDate (plus `deletionLagMs`: KMS may be up to 24 hours
   * late) has passed on the handlers' clock is gone, as KMS would have deleted it. Off by default,
   * so tests that pin dates are not overtaken by real time.
   */
  constructor(options: { deleteWhenDue?: boolean; deletionLagMs?: number } = {}) {
    this.deleteWhenDue = options.deleteWhenDue ?? false;
    this.deletionLagMs = options.deletionLagMs ?? 0;
    this.mock = mockClient(KMSClient);
    // The certificate signing key: KMS Sign over a SHA-256 digest (MessageType DIGEST), ECDSA P-256.
    const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.signingPublicKey = signing.publicKey;
    const d = Buffer.from(signing.privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
    this.mock.on(SignCommand).callsFake(({ KeyId, Message, SigningAlgorithm }) =>
      this.answer('Sign', () => ({ KeyId, SigningAlgorithm, Signature: p256.sign(Message, d, { prehash: false, format: 'der' }) })),
    );
    this.mock.on(DescribeKeyCommand).callsFake(({ KeyId }) => this.answer('DescribeKey', () => ({ KeyMetadata: this.metadata(this.find(KeyId)) })));
    this.mock.on(ListResourceTagsCommand).callsFake(({ KeyId }) =>
      this.answer('ListResourceTags', () => ({
        Tags: Object.entries(this.find(KeyId).tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
        Truncated: false,
      })),
    );
    this.mock.on(DisableKeyCommand).callsFake(({ KeyId }) =>
      this.answer('DisableKey', () => {
        const key = this.find(KeyId);
        if (key.keyState === 'PendingDeletion' || key.keyState === 'PendingReplicaDeletion') throw invalidState(`${arnOf(key)} is pending deletion.`);
        if (key.keyState === 'PendingImport') throw invalidState(`${arnOf(key)} is pending import.`);
        key.keyState = 'Disabled';
        return {};
      }),
    );
    this.mock.on(ScheduleKeyDeletionCommand).callsFake(({ KeyId, PendingWindowInDays }) =>
      this.answer('ScheduleKeyDeletion', () => {
        const key = this.find(KeyId);
        if (key.keyState === 'PendingDeletion' || key.keyState === 'PendingReplicaDeletion') throw invalidState(`${arnOf(key)} is pending deletion.`);
        key.keyState = 'PendingDeletion';
        key.deletionDate = new Date(now().getTime() + (PendingWindowInDays ?? 30) * 86_400_000);
        return { KeyId: arnOf(key), KeyState: key.keyState, DeletionDate: key.deletionDate, PendingWindowInDays };
      }),
    );
  }

  addKey(options: Partial<KeyRecord> & { subjectId?: string; alias?: string } = {}): KeyRecord {
    this.sequence += 1;
    const key: KeyRecord = {
      keyId: options.keyId ?? `00000000-0000-4000-8000-${String(this.sequence).padStart(12, '0')}`,
      keyState: options.keyState ?? 'Enabled',
      keyManager: options.keyManager ?? 'CUSTOMER',
      accountId: options.accountId ?? ACCOUNT_ID,
      tags: options.tags ?? (options.subjectId ? { 'erasure:subject': options.subjectId } : {}),
      aliases: options.aliases ?? (options.alias ? [options.alias] : options.subjectId ? [`alias/erasure/subject/${options.subjectId}`] : []),
      deletionDate: options.deletionDate,
    };
    this.keys.set(key.keyId, key);
    return key;
  }

  /** KMS deletes the key: from now on every call answers NotFoundException. */
  deleteKey(key: KeyRecord): void {
    this.keys.delete(key.keyId);
  }

  /** An operator cancels the deletion during the waiting period: the key is left Disabled. */
  cancelDeletion(key: KeyRecord): void {
    key.keyState = 'Disabled';
    key.deletionDate = undefined;
  }

  failNext(command: string, ...errors: Error[]): void {
    this.failures.set(command, [...(this.failures.get(command) ?? []), ...errors]);
  }

  calls(command: string): number {
    return this.mock.calls().filter((call) => call.args[0].constructor.name === `${command}Command`).length;
  }

  restore(): void {
    this.mock.restore();
  }

  private answer<T>(command: string, respond: () => T): T {
    const injected = this.failures.get(command)?.shift();
    if (injected) throw injected;
    return respond();
  }

  private find(reference: string | undefined): KeyRecord {
    if (this.deleteWhenDue) {
      for (const key of [...this.keys.values()]) {
        if (key.keyState === 'PendingDeletion' && key.deletionDate && key.deletionDate.getTime() + this.deletionLagMs <= now().getTime()) this.deleteKey(key);
      }
    }
    for (const key of this.keys.values()) {
      if (reference === key.keyId || reference === arnOf(key) || key.aliases.includes(reference ?? '')) return key;
    }
    throw new NotFoundException({ message: `Key '${reference}' does not exist`, $metadata: {} });
  }

  private metadata(key: KeyRecord): KeyMetadata {
    return {
      KeyId: key.keyId,
      Arn: arnOf(key),
      AWSAccountId: key.accountId,
      KeyManager: key.keyManager,
      KeyState: key.keyState as KeyMetadata['KeyState'],
      Enabled: key.keyState === 'Enabled',
      Origin: 'AWS_KMS',
      MultiRegion: false,
      DeletionDate: key.keyState === 'PendingDeletion' ? key.deletionDate : undefined,
    };
  }
}

export function arnOf(key: Pick<KeyRecord, 'keyId' | 'accountId'>): string {
  return `arn:aws:kms:${REGION}:${key.accountId}:key/${key.keyId}`;
}

export function invalidState(message: string): KMSInvalidStateException {
  return new KMSInvalidStateException({ message, $metadata: { httpStatusCode: 400 } });
}

export function disabled(message: string): DisabledException {
  return new DisabledException({ message, $metadata: { httpStatusCode: 400 } });
}

/** KMS's 500, as the SDK throws it. */
export function kmsInternalError(): KMSInternalException {
  return new KMSInternalException({ message: 'An internal error occurred', $metadata: { httpStatusCode: 500 } });
}

export function throttled(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
}
