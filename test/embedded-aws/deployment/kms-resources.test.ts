import { describe, expect, it } from 'vitest';
import { planDeployment } from '../../../embedded-aws/deployment/local-deployment.ts';
import type { ServerlessConfig } from '../../../embedded-aws/deployment/serverless-print.ts';

const ACCOUNT = '111122223333';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type Resources = NonNullable<NonNullable<ServerlessConfig['resources']>['Resources']>;

/** serverless.yml as `osls print` hands it over: a signing key, its alias, and a function that names the key. */
function configWith(options: { stage?: string; region?: string; environment?: Record<string, unknown>; resources?: Resources } = {}): ServerlessConfig {
  return {
    service: 'crypto-erasure',
    provider: { stage: options.stage ?? 'local', region: options.region ?? 'eu-west-1' },
    functions: {
      notify: {
        handler: 'functions/notify.handler',
        environment: options.environment ?? { CERTIFICATE_SIGNING_KEY_ARN: { 'Fn::GetAtt': ['CertificateSigningKey', 'Arn'] } },
      },
    },
    resources: {
      Resources: {
        CertificateSigningKey: {
          Type: 'AWS::KMS::Key',
          Properties: {
            Description: 'Signs crypto-erasure certificates (stage local).',
            KeySpec: 'ECC_NIST_P256',
            KeyUsage: 'SIGN_VERIFY',
            KeyPolicy: { Version: '2012-10-17', Statement: [] },
            Tags: [{ Key: 'owner', Value: { 'Fn::Sub': '${AWS::AccountId}-privacy' } }],
          },
        },
        CertificateSigningKeyAlias: {
          Type: 'AWS::KMS::Alias',
          Properties: { AliasName: 'alias/crypto-erasure-certificates-local', TargetKeyId: { Ref: 'CertificateSigningKey' } },
        },
        ...options.resources,
      },
    },
  };
}

function environmentOf(config: ServerlessConfig): Record<string, string> {
  return planDeployment(config, ACCOUNT).functions[0]?.environment ?? {};
}

describe('planDeployment, AWS::KMS::Key and AWS::KMS::Alias', () => {
  it('plans a declared key under a UUID key ID, and the same ID every time', () => {
    const first = planDeployment(configWith(), ACCOUNT).kmsKeys[0];
    const second = planDeployment(configWith(), ACCOUNT).kmsKeys[0];

    expect(first?.keyId).toMatch(UUID);
    expect(first?.arn).toBe(`arn:aws:kms:eu-west-1:${ACCOUNT}:key/${first?.keyId}`);
    expect(second?.keyId).toBe(first?.keyId);
  });

  it.each([
    ['another stage', configWith({ stage: 'prod' }), ACCOUNT],
    ['another Region', configWith({ region: 'eu-central-1' }), ACCOUNT],
    ['another account', configWith(), '444455556666'],
  ])('plans another key ID in %s', (_, config, account) => {
    const local = planDeployment(configWith(), ACCOUNT).kmsKeys[0]?.keyId;
    expect(planDeployment(config, account).kmsKeys[0]?.keyId).not.toBe(local);
  });

  it('resolves Ref, Fn::GetAtt Arn and KeyId, and Fn::Sub of a key in the functions environment', () => {
    const config = configWith({
      environment: {
        BY_REF: { Ref: 'CertificateSigningKey' },
        BY_ARN: { 'Fn::GetAtt': ['CertificateSigningKey', 'Arn'] },
        BY_KEY_ID: { 'Fn::GetAtt': ['CertificateSigningKey', 'KeyId'] },
        BY_SUB: { 'Fn::Sub': 'signed by ${CertificateSigningKey.Arn}' },
        ALIAS: { Ref: 'CertificateSigningKeyAlias' },
      },
    });
    const { keyId, arn } = planDeployment(config, ACCOUNT).kmsKeys[0] ?? {};

    expect(environmentOf(config)).toEqual({
      BY_REF: keyId,
      BY_ARN: arn,
      BY_KEY_ID: keyId,
      BY_SUB: `signed by ${arn}`,
      ALIAS: 'alias/crypto-erasure-certificates-local',
    });
  });

  it('plans the key as CreateKey will be given it, leaving the key policy out', () => {
    const [key] = planDeployment(configWith(), ACCOUNT).kmsKeys;
    expect(key).toEqual({
      logicalId: 'CertificateSigningKey',
      keyId: expect.stringMatching(UUID),
      arn: expect.any(String),
      keySpec: 'ECC_NIST_P256',
      keyUsage: 'SIGN_VERIFY',
      description: 'Signs crypto-erasure certificates (stage local).',
      tags: [{ TagKey: 'owner', TagValue: `${ACCOUNT}-privacy` }],
      multiRegion: false,
      enabled: true,
    });
  });

  it('gives a key without properties KMS defaults: a symmetric encryption key', () => {
    const [, plain] = planDeployment(configWith({ resources: { PlainKey: { Type: 'AWS::KMS::Key' } } }), ACCOUNT).kmsKeys;
    expect(plain).toMatchObject({ keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', description: '', tags: [], enabled: true });
  });

  it('gives a multi-Region key an mrk- key ID', () => {
    const config = configWith({ resources: { SharedKey: { Type: 'AWS::KMS::Key', Properties: { MultiRegion: true } } } });
    const shared = planDeployment(config, ACCOUNT).kmsKeys.find((key) => key.logicalId === 'SharedKey');
    expect(shared).toMatchObject({ keyId: expect.stringMatching(/^mrk-[0-9a-f]{32}$/), multiRegion: true });
  });

  it('plans the alias pointing at the planned key ID', () => {
    const plan = planDeployment(configWith(), ACCOUNT);
    expect(plan.kmsAliases).toEqual([
      { logicalId: 'CertificateSigningKeyAlias', aliasName: 'alias/crypto-erasure-certificates-local', targetKeyId: plan.kmsKeys[0]?.keyId },
    ]);
  });

  it('refuses an attribute a key does not have, naming where it is used', () => {
    const config = configWith({ environment: { KEY: { 'Fn::GetAtt': ['CertificateSigningKey', 'PublicKey'] } } });
    expect(() => planDeployment(config, ACCOUNT)).toThrow(
      /functions\.notify\.environment\.KEY: the embedded AWS has no resource CertificateSigningKey \(attribute PublicKey\)/,
    );
  });
});
