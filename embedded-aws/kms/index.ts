export { EmbeddedKms, type EmbeddedKmsOptions } from './embedded-kms.ts';
export { KMS_REQUEST_QUOTAS, SYMMETRIC_CRYPTOGRAPHIC_OPERATIONS, type QuotaSetting } from './request-quotas.ts';
