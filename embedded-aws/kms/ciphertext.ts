import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { AwsServiceError } from '../protocol.ts';

/**
 * The embedded KMS's ciphertext blob: real AES-256-GCM under the KMS key's material, framed so
 * that the blob names its key, as KMS's own blobs do (Decrypt needs no KeyId for symmetric keys).
 *
 *   "EKMS" | version (1) | key ID length (1) | key ID | IV (12) | GCM tag (16) | ciphertext
 *
 * The header and the encryption context are authenticated data: a blob moved to another key, or
 * opened with a different encryption context, fails authentication like KMS's does.
 */
const MAGIC = Buffer.from('EKMS', 'ascii');
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type EncryptionContext = Record<string, string>;

export function generateKeyMaterial(): Buffer {
  return randomBytes(32);
}

/** A stable identifier of key material, shaped like KMS's 64-hex-digit KeyMaterialId. */
export function keyMaterialId(material: Buffer): string {
  return createHash('sha256').update(material).digest('hex');
}

export function sealCiphertext(
  keyId: string,
  material: Buffer,
  plaintext: Buffer,
  encryptionContext: EncryptionContext,
): Buffer {
  const header = blobHeader(keyId);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', material, iv);
  cipher.setAAD(additionalData(header, encryptionContext));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, iv, cipher.getAuthTag(), body]);
}

/** The key ID a ciphertext blob names, read before anything is authenticated. */
export function ciphertextKeyId(blob: Buffer): string {
  return parseBlob(blob).keyId;
}

export function openCiphertext(material: Buffer, blob: Buffer, encryptionContext: EncryptionContext): Buffer {
  const { header, iv, tag, body } = parseBlob(blob);
  try {
    const decipher = createDecipheriv('aes-256-gcm', material, iv);
    decipher.setAAD(additionalData(header, encryptionContext));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw invalidCiphertext();
  }
}

function blobHeader(keyId: string): Buffer {
  const id = Buffer.from(keyId, 'utf8');
  return Buffer.concat([MAGIC, Buffer.from([VERSION, id.length]), id]);
}

function parseBlob(blob: Buffer): { header: Buffer; keyId: string; iv: Buffer; tag: Buffer; body: Buffer } {
  const idLength = blob[MAGIC.length + 1];
  if (
    idLength === undefined ||
    !blob.subarray(0, MAGIC.length).equals(MAGIC) ||
    blob[MAGIC.length] !== VERSION ||
    blob.length < MAGIC.length + 2 + idLength + IV_BYTES + TAG_BYTES
  ) {
    throw invalidCiphertext();
  }
  const headerEnd = MAGIC.length + 2 + idLength;
  const ivEnd = headerEnd + IV_BYTES;
  return {
    header: blob.subarray(0, headerEnd),
    keyId: blob.subarray(MAGIC.length + 2, headerEnd).toString('utf8'),
    iv: blob.subarray(headerEnd, ivEnd),
    tag: blob.subarray(ivEnd, ivEnd + TAG_BYTES),
    body: blob.subarray(ivEnd + TAG_BYTES),
  };
}

/** The encryption context is bound in a canonical form: its pairs sorted, so order never matters. */
function additionalData(header: Buffer, encryptionContext: EncryptionContext): Buffer {
  const pairs = Object.entries(encryptionContext).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.concat([header, Buffer.from(JSON.stringify(pairs), 'utf8')]);
}

/**
 * KMS says nothing about why a ciphertext does not open: a wrong encryption context, a tampered or
 * foreign blob all answer InvalidCiphertextException without a message (LocalStack's snapshots
 * recorded against AWS, test_encrypt_decrypt_encryption_context and
 * test_encryption_context_generate_data_key: Error Message "", no message member).
 */
function invalidCiphertext(): AwsServiceError {
  return new AwsServiceError('InvalidCiphertextException', '');
}
