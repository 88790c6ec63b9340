import { ListKeysCommand, KMSClient } from '@aws-sdk/client-kms';
import { ListTopicsCommand, SNSClient } from '@aws-sdk/client-sns';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest, SourceData } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { ReusedSignatureV4 } from '../../../embedded-aws/lambda/in-process-transport.ts';

const CREDENTIALS = { accessKeyId: 'AKIAEMBEDDEDAWS00000', secretAccessKey: 'embedded-aws-secret-access-key' };

/** The request a client would send: it stops at its handler, which keeps it. */
async function requestSentBy(client: KMSClient | SNSClient, command: ListKeysCommand | ListTopicsCommand): Promise<HttpRequest> {
  let sent: HttpRequest | undefined;
  client.config.requestHandler = {
    async handle(request: HttpRequest) {
      sent = request;
      throw new Error('stopped at the handler');
    },
  } as never;
  await expect((client.send as (command: unknown) => Promise<unknown>).call(client, command)).rejects.toThrow('stopped at the handler');
  return sent!;
}

function bytes(data: SourceData): string | Uint8Array {
  return typeof data === 'string' ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

/** SHA-256 and HMAC-SHA256 from node:crypto, as the signer asks for them. */
class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

/** Signs the request again with a signer of its own, at the instant it was signed: what AWS would recompute. */
async function signatureAwsWouldExpect(request: HttpRequest, region: string, service: string): Promise<string | undefined> {
  const { authorization: _, ...headers } = request.headers;
  const unsigned = { ...request, headers };
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(request.headers['x-amz-date']!)!;
  const signingDate = new Date(`${date[1]}-${date[2]}-${date[3]}T${date[4]}:${date[5]}:${date[6]}Z`);
  const signed = await new SignatureV4({ credentials: CREDENTIALS, region, service, sha256: NodeSha256 }).sign(unsigned, { signingDate });
  return signed.headers.authorization;
}

describe("the in-process clients' signer", () => {
  it('signs every request as AWS would check it, with the service and Region the client names', async () => {
    for (const [service, make, command] of [
      ['kms', (config: object) => new KMSClient(config), new ListKeysCommand({})],
      ['sns', (config: object) => new SNSClient(config), new ListTopicsCommand({})],
    ] as const) {
      for (const region of ['eu-west-1', 'ap-southeast-2']) {
        const client = make({ region, endpoint: 'http://127.0.0.1:4566', credentials: CREDENTIALS, maxAttempts: 1, signerConstructor: ReusedSignatureV4 });
        // Twice: the second request is signed by the signer the first one built.
        for (const _ of [1, 2]) {
          const request = await requestSentBy(client, command);
          expect(request.headers.authorization).toContain(`Credential=AKIAEMBEDDEDAWS00000/`);
          expect(request.headers.authorization).toContain(`/${region}/${service}/aws4_request`);
          expect(request.headers.authorization).toBe(await signatureAwsWouldExpect(request, region, service));
        }
      }
    }
  });

  it('hands back the signer already built for the same client, Region and service, and another for any other', () => {
    const credentials = async () => CREDENTIALS;
    const params = (region: string, service: string) => ({ credentials, region, service, sha256: class {} as never });
    const first = new ReusedSignatureV4(params('eu-west-1', 'kms'));

    expect(new ReusedSignatureV4(params('eu-west-1', 'kms'))).toBe(first);
    expect(new ReusedSignatureV4(params('eu-west-2', 'kms'))).not.toBe(first);
    expect(new ReusedSignatureV4(params('eu-west-1', 'sns'))).not.toBe(first);
    expect(new ReusedSignatureV4({ ...params('eu-west-1', 'kms'), credentials: async () => CREDENTIALS })).not.toBe(first);
  });
});
