import { buildClient, CommitmentPolicy, getClient, KMS, KmsKeyringNode } from '@aws-crypto/client-node';
import type { KMSClientConfig } from '@aws-sdk/client-kms';
import type { SubjectFingerprint } from '../../functions/lib/erasure/subject.ts';

/**
 * Sample records encrypted as applications do it, with the AWS Encryption SDK: a KMS keyring whose
 * generator is the subject's KMS key, so every record carries its data key encrypted under that key
 * and reading it needs KMS. Once the key is destroyed, every stored copy of the record is unreadable.
 *
 * The encryption context names the subject by fingerprint: the SDK stores it in plaintext in the
 * message header and KMS logs it in CloudTrail, where subject ids must not appear.
 */
const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

/**
 * The keyring names the key by its key ARN: an alias (ARN) would do for encrypting, but on decrypt
 * the SDK only asks KMS for data keys whose recorded key ARN is one the keyring names.
 */
export function subjectKeyring(clientConfig: KMSClientConfig, keyArn: string): KmsKeyringNode {
  return new KmsKeyringNode({ generatorKeyId: keyArn, clientProvider: getClient(KMS, clientConfig) });
}

export async function encryptRecord(keyring: KmsKeyringNode, subject: SubjectFingerprint, plaintext: string): Promise<Buffer> {
  const { result } = await encrypt(keyring, plaintext, { encryptionContext: { subject } });
  return result;
}

/** Why a record could not be read: KMS's refusal (NotFoundException, KMSInvalidStateException, ...) when there was one. */
export class RecordUnreadable extends Error {
  readonly kmsError: { name: string; message: string } | undefined;

  constructor(message: string, kmsError: { name: string; message: string } | undefined, options: ErrorOptions) {
    super(message, options);
    this.name = 'RecordUnreadable';
    this.kmsError = kmsError;
  }
}

export class RecordOfAnotherSubject extends Error {
  constructor() {
    super("the record's encryption context names another subject");
    this.name = 'RecordOfAnotherSubject';
  }
}

/** The record's plaintext, once the SDK has checked it and its encryption context names `subject`. */
export async function decryptRecord(keyring: KmsKeyringNode, subject: SubjectFingerprint, record: Uint8Array): Promise<string> {
  const { plaintext, messageHeader } = await decrypt(keyring, record).catch((error: Error) => {
    const kmsError = kmsErrorOf(error);
    throw new RecordUnreadable(kmsError ? `${kmsError.name}: ${kmsError.message}` : error.message, kmsError, { cause: error });
  });
  // The context is authenticated, not secret: a record swapped in from another subject decrypts, and only this check refuses it.
  if (messageHeader.encryptionContext.subject !== subject) throw new RecordOfAnotherSubject();
  return plaintext.toString('utf8');
}

/**
 * The Encryption SDK does not keep the errors of the KMS calls that failed: it reports them in its
 * own error's message, as "Error #1 \n <the KMS error's stack>", whose first line is `name: message`.
 */
function kmsErrorOf(error: Error): { name: string; message: string } | undefined {
  const first = /Error #1 \n (\w+): ([^\n]*)/.exec(error.message);
  return first ? { name: first[1]!, message: first[2]! } : undefined;
}
