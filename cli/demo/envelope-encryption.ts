import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';

/**
 * Envelope encryption as an application does it: KMS hands out a fresh data key, the record is
 * encrypted locally with it (AES-256-GCM), and only the data key's KMS-encrypted copy is stored
 * beside the record. Reading the record needs KMS to decrypt that copy, so once the subject's KMS
 * key is destroyed, every stored copy of the record is unreadable.
 */
export interface EncryptedRecord {
  /** The data key, encrypted under the subject's KMS key. */
  encryptedDataKey: Uint8Array;
  iv: Buffer;
  ciphertext: Buffer;
  authTag: Buffer;
  /** Bound into both the data key and the record, so a record cannot be swapped for another's. */
  context: Record<string, string>;
}

export async function encryptRecord(kms: KMSClient, keyId: string, plaintext: string, context: Record<string, string>): Promise<EncryptedRecord> {
  const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }));
  if (!dataKey.Plaintext || !dataKey.CiphertextBlob) throw new Error('GenerateDataKey returned no key');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey.Plaintext, iv);
  cipher.setAAD(Buffer.from(JSON.stringify(context)));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  dataKey.Plaintext.fill(0); // the plaintext data key never outlives the encryption
  return { encryptedDataKey: dataKey.CiphertextBlob, iv, ciphertext, authTag: cipher.getAuthTag(), context };
}

export async function decryptRecord(kms: KMSClient, record: EncryptedRecord): Promise<string> {
  const dataKey = await kms.send(new DecryptCommand({ CiphertextBlob: record.encryptedDataKey, EncryptionContext: record.context }));
  if (!dataKey.Plaintext) throw new Error('Decrypt returned no key');
  const decipher = createDecipheriv('aes-256-gcm', dataKey.Plaintext, record.iv);
  decipher.setAAD(Buffer.from(JSON.stringify(record.context)));
  decipher.setAuthTag(record.authTag);
  const plaintext = Buffer.concat([decipher.update(record.ciphertext), decipher.final()]).toString('utf8');
  dataKey.Plaintext.fill(0);
  return plaintext;
}
