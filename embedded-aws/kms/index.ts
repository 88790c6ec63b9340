export { EmbeddedKms, type DeclaredKey, type EmbeddedKmsOptions } from './embedded-kms.ts';
export {
  ECC_CRYPTOGRAPHIC_OPERATIONS,
  KMS_REQUEST_QUOTAS,
  RSA_CRYPTOGRAPHIC_OPERATIONS,
  SYMMETRIC_CRYPTOGRAPHIC_OPERATIONS,
  type QuotaSetting,
} from './request-quotas.ts';
export type { KmsSnapshot } from './key-store-snapshot.ts';
