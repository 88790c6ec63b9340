import type { Clock } from '../clock.ts';
import { AwsServiceError } from '../protocol.ts';

/** The name under which the symmetric Encrypt, Decrypt, ReEncrypt and GenerateDataKey(WithoutPlaintext) calls share one quota. */
export const SYMMETRIC_CRYPTOGRAPHIC_OPERATIONS = 'SymmetricCryptographicOperations';
/** The names under which Sign and Verify share one quota, by the kind of key they use. */
export const ECC_CRYPTOGRAPHIC_OPERATIONS = 'EccCryptographicOperations';
export const RSA_CRYPTOGRAPHIC_OPERATIONS = 'RsaCryptographicOperations';

/**
 * KMS request quotas per account per Region, requests per second (docs/aws-facts.md, "KMS request
 * quotas"). The shared cryptographic quota ranges from 10,000 to 100,000 by Region: we take the
 * lowest, so a load that passes here passes in every Region.
 */
export const KMS_REQUEST_QUOTAS: Readonly<Record<string, number>> = {
  CreateKey: 5,
  DisableKey: 5,
  EnableKey: 5,
  ScheduleKeyDeletion: 15,
  CancelKeyDeletion: 5,
  DeleteImportedKeyMaterial: 15,
  DescribeKey: 2000,
  ListResourceTags: 2000,
  ListKeys: 500,
  ListAliases: 500,
  TagResource: 10,
  [SYMMETRIC_CRYPTOGRAPHIC_OPERATIONS]: 10_000,
  // Asymmetric requests cost KMS more: ECC Sign and Verify share 1,000/s (docs/aws-facts.md, "More facts
  // for the ledger, alerts and certificates"). Not in the facts: GetPublicKey's 2,000/s and the
  // RSA Sign and Verify 500/s, KMS's published defaults.
  GetPublicKey: 2000,
  [ECC_CRYPTOGRAPHIC_OPERATIONS]: 1000,
  [RSA_CRYPTOGRAPHIC_OPERATIONS]: 500,
};

/** The cryptographic operations on symmetric keys share one quota (Developer Guide, "Request quotas", shared quotas). */
const SHARED_QUOTA_OF_OPERATION: Readonly<Record<string, string>> = {
  Encrypt: SYMMETRIC_CRYPTOGRAPHIC_OPERATIONS,
  Decrypt: SYMMETRIC_CRYPTOGRAPHIC_OPERATIONS,
  ReEncrypt: SYMMETRIC_CRYPTOGRAPHIC_OPERATIONS,
  GenerateDataKey: SYMMETRIC_CRYPTOGRAPHIC_OPERATIONS,
  GenerateDataKeyWithoutPlaintext: SYMMETRIC_CRYPTOGRAPHIC_OPERATIONS,
};

/** `true` applies KMS_REQUEST_QUOTAS; an object applies them with its entries overriding or adding. */
export type QuotaSetting = boolean | Partial<Record<string, number>> | undefined;

interface TokenBucket {
  tokens: number;
  refilledAtMs: number;
}

/**
 * Token buckets on the virtual clock, one per account, Region and quota: each holds one second's
 * worth of requests and refills continuously, so the (N+1)th call within one virtual second of an
 * N-per-second quota is throttled, and a second later the bucket is full again.
 */
export class RequestQuotas {
  private readonly clock: Clock;
  private readonly perSecond: Readonly<Record<string, number>>;
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(clock: Clock, setting: QuotaSetting) {
    this.clock = clock;
    if (setting === undefined || setting === false) this.perSecond = {};
    else if (setting === true) this.perSecond = KMS_REQUEST_QUOTAS;
    else this.perSecond = withoutUndefined({ ...KMS_REQUEST_QUOTAS, ...setting });
  }

  /**
   * Takes one request from the operation's quota, or throws ThrottlingException as KMS does. Sign
   * and Verify count against the ECC or the RSA quota, by the spec of the key they name.
   */
  take(scope: { accountId: string; region: string }, operation: string, keySpec?: string): void {
    const quota = SHARED_QUOTA_OF_OPERATION[operation] ?? signingQuota(operation, keySpec) ?? operation;
    const perSecond = this.perSecond[quota];
    if (perSecond === undefined) return;
    const nowMs = this.clock.now().getTime();
    const name = `${scope.accountId}/${scope.region}/${quota}`;
    const bucket = this.buckets.get(name) ?? { tokens: perSecond, refilledAtMs: nowMs };
    bucket.tokens = Math.min(perSecond, bucket.tokens + ((nowMs - bucket.refilledAtMs) * perSecond) / 1000);
    bucket.refilledAtMs = nowMs;
    this.buckets.set(name, bucket);
    if (bucket.tokens < 1) throw new AwsServiceError('ThrottlingException', 'Rate exceeded');
    bucket.tokens -= 1;
  }
}

function signingQuota(operation: string, keySpec: string | undefined): string | undefined {
  if (operation !== 'Sign' && operation !== 'Verify') return undefined;
  return keySpec?.startsWith('RSA_') ? RSA_CRYPTOGRAPHIC_OPERATIONS : ECC_CRYPTOGRAPHIC_OPERATIONS;
}

function withoutUndefined(quotas: Partial<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(quotas).filter((entry): entry is [string, number] => entry[1] !== undefined),
  );
}
