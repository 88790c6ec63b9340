import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../functions/lib/erasure/canonical-json.ts';
import { composeCertificate } from '../../../functions/lib/erasure/certificate.ts';
import { context, erasure, keyArns, ledgerOfAnErasure, subject } from '../../support/certificate.ts';
import { ledgerDouble } from '../../support/ledger-double.ts';

describe('the erasure certificate', () => {
  it('carries what NIST SP 800-88 asks, every date taken from the ledger', async () => {
    const ledger = await ledgerOfAnErasure();
    const { entries } = await ledger.read(subject);
    const certificate = composeCertificate(entries, context);
    expect(certificate).toMatchObject({
      certificateId: expect.stringMatching(/^cert-[0-9a-f]{32}$/),
      subject,
      erasure,
      closure: { eventId: 'e-1', source: 'com.example.accounts', closedAt: '2026-11-20T09:29:41Z', receivedAt: entries[0]!.recordedAt },
      method: { category: 'Purge', technique: 'Cryptographic Erase', standard: 'NIST SP 800-88 Rev. 2' },
      tool: { name: 'crypto-erasure', version: '0.1.0' },
      verification: { result: 'Passed', verifiedAt: '2026-12-21T10:00:00Z' },
      dates: { deletionDate: '2026-12-20T09:30:00Z', verifiedDeletedAt: '2026-12-21T10:00:00Z' },
      performedBy: 'arn:aws:iam::111122223333:role/eraser',
      ledger: { subject, chainHead: { sequence: entries.length, hash: entries.at(-1)!.hash } },
    });
    expect(certificate.sanitized.keys).toEqual(
      keyArns.map((keyArn) => expect.objectContaining({ keyArn, region: 'eu-west-1', accountId: '111122223333', origin: 'AWS_KMS', disableOutcome: 'disabled', verifiedDeletedAt: '2026-12-21T10:00:00Z' })),
    );
    expect(JSON.stringify(certificate)).not.toContain('user-');
  });

  it('is never issued while one of several keys is not verified deleted', async () => {
    const ledger = await ledgerOfAnErasure([keyArns[0]!]);
    expect(() => composeCertificate(ledger.table.rows.get(subject)!, context)).toThrow(`key ${keyArns[1]} of erasure ${erasure} is not verified deleted`);
  });

  it('is never issued for an erasure the ledger does not show verified', async () => {
    const ledger = ledgerDouble();
    await ledger.record(subject, erasure, { type: 'ErasureStarted', eventId: 'e-1', executionName: 'erasure-d' });
    expect(() => composeCertificate(ledger.table.rows.get(subject)!, context)).toThrow(/no verified deletion/);
  });
});

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys at every level and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}');
  });

  it('serialises numbers as ECMAScript does, as the RFC requires', () => {
    expect(canonicalJson({ n: [1e21, 0.000001, -0, 10.0] })).toBe('{"n":[1e+21,0.000001,0,10]}');
  });
});

describe('the erasure certificate of keys erased differently', () => {
  const [external, replica, primary] = [
    'arn:aws:kms:eu-west-1:111122223333:key/k-ext',
    'arn:aws:kms:us-east-1:111122223333:key/mrk-1',
    'arn:aws:kms:eu-west-1:111122223333:key/mrk-1',
  ];
  const minuteClock = () => {
    let minute = 0;
    return () => new Date(Date.UTC(2026, 10, 20, 9, 30 + minute++));
  };

  /**
   * One subject, two erasures: an earlier one (closure e-0) of a key of its own, verified, then the
   * one certified here (closure e-1) of an imported-material key and a multi-Region pair whose
   * disable outcomes, deletion dates and times all differ.
   */
  async function ledgerOfTwoErasures() {
    const ledger = ledgerDouble(minuteClock());
    const earlier = `${erasure}-earlier`;
    const earlierKey = 'arn:aws:kms:eu-west-1:111122223333:key/k-earlier';
    await ledger.record(subject, null, { type: 'ClosureReceived', eventId: 'e-0', source: 'com.example.legacy', closedAt: '2026-01-01T00:00:00Z' });
    await ledger.record(subject, earlier, { type: 'ErasureStarted', eventId: 'e-0', executionName: 'erasure-d-earlier' });
    await ledger.record(subject, earlier, { type: 'KeysResolved', keys: [{ keyArn: earlierKey, keyId: 'k-earlier', origin: 'AWS_KMS', multiRegion: false, keyState: 'Enabled' }] });
    await ledger.record(subject, earlier, { type: 'KeyDisabled', keyArn: earlierKey, outcome: 'disabled' });
    await ledger.record(subject, earlier, { type: 'KeyDeletionScheduled', keyArn: earlierKey, deletionDate: '2026-02-01T00:00:00Z', pendingWindowDays: 30, alreadyScheduled: false });
    await ledger.record(subject, earlier, { type: 'DeletionVerified', checkedAt: '2026-02-02T00:00:00Z', keys: [{ keyArn: earlierKey, verifiedDeletedAt: '2026-02-02T00:00:00Z' }] });

    await ledger.record(subject, null, { type: 'ClosureReceived', eventId: 'e-1', source: 'com.example.accounts', closedAt: '2026-11-20T09:29:41Z' });
    await ledger.record(subject, erasure, { type: 'ErasureStarted', eventId: 'e-1', executionName: 'erasure-d' });
    await ledger.record(subject, erasure, {
      type: 'KeysResolved',
      keys: [
        { keyArn: external, keyId: 'k-ext', origin: 'EXTERNAL', multiRegion: false, keyState: 'Enabled' },
        { keyArn: replica, keyId: 'mrk-1', origin: 'AWS_KMS', multiRegion: true, multiRegionKeyType: 'REPLICA', keyState: 'Enabled' },
        { keyArn: primary, keyId: 'mrk-1', origin: 'AWS_KMS', multiRegion: true, multiRegionKeyType: 'PRIMARY', keyState: 'PendingDeletion' },
      ],
    });
    await ledger.record(subject, erasure, { type: 'KeyDisabled', keyArn: external, outcome: 'disabled' });
    await ledger.record(subject, erasure, { type: 'KeyMaterialDeleted', keyArn: external });
    await ledger.record(subject, erasure, { type: 'KeyDeletionScheduled', keyArn: external, deletionDate: '2026-12-20T09:31:00Z', pendingWindowDays: 30, alreadyScheduled: false });
    await ledger.record(subject, erasure, { type: 'KeyDisabled', keyArn: replica, outcome: 'already-disabled' });
    await ledger.record(subject, erasure, { type: 'KeyDeletionScheduled', keyArn: replica, deletionDate: '2026-12-27T09:35:00Z', pendingWindowDays: 7, alreadyScheduled: false });
    // The primary was found pending deletion already: never disabled by this erasure.
    await ledger.record(subject, erasure, { type: 'KeyDeletionScheduled', keyArn: primary, deletionDate: '2026-12-25T00:00:00Z', pendingWindowDays: 30, alreadyScheduled: true });
    await ledger.record(subject, erasure, {
      type: 'DeletionVerified',
      checkedAt: '2026-12-28T10:00:00Z',
      keys: [external, replica, primary].map((keyArn) => ({ keyArn, verifiedDeletedAt: '2026-12-28T10:00:00Z' })),
    });
    return ledger;
  }

  async function certificateOfTheLaterErasure() {
    const { entries } = await (await ledgerOfTwoErasures()).read(subject);
    return { entries, certificate: composeCertificate(entries, context) };
  }

  it("certifies the erasure asked for, with its own closure and verification, not an earlier one's", async () => {
    const { certificate } = await certificateOfTheLaterErasure();
    expect(certificate.closure).toMatchObject({ eventId: 'e-1', source: 'com.example.accounts', closedAt: '2026-11-20T09:29:41Z' });
    expect(certificate.verification.verifiedAt).toBe('2026-12-28T10:00:00Z');
    expect(certificate.sanitized.keys.map((key) => key.keyArn)).toEqual([external, replica, primary]);
  });

  it("gives each key its own disable outcome, deletion date and times, and the imported key its material's deletion", async () => {
    const { entries, certificate } = await certificateOfTheLaterErasure();
    const recordedAt = (type: string, keyArn: string) => entries.find((entry) => entry.event.type === type && 'keyArn' in entry.event && entry.event.keyArn === keyArn)!.recordedAt;
    expect(certificate.sanitized.keys).toEqual([
      {
        keyArn: external, keyId: 'k-ext', region: 'eu-west-1', accountId: '111122223333', origin: 'EXTERNAL', multiRegion: false, multiRegionKeyType: null,
        disabledAt: recordedAt('KeyDisabled', external), keyMaterialDeletedAt: recordedAt('KeyMaterialDeleted', external), disableOutcome: 'disabled',
        scheduledAt: recordedAt('KeyDeletionScheduled', external), deletionDate: '2026-12-20T09:31:00Z', verifiedDeletedAt: '2026-12-28T10:00:00Z',
      },
      {
        keyArn: replica, keyId: 'mrk-1', region: 'us-east-1', accountId: '111122223333', origin: 'AWS_KMS', multiRegion: true, multiRegionKeyType: 'REPLICA',
        disabledAt: recordedAt('KeyDisabled', replica), keyMaterialDeletedAt: null, disableOutcome: 'already-disabled',
        scheduledAt: recordedAt('KeyDeletionScheduled', replica), deletionDate: '2026-12-27T09:35:00Z', verifiedDeletedAt: '2026-12-28T10:00:00Z',
      },
      {
        keyArn: primary, keyId: 'mrk-1', region: 'eu-west-1', accountId: '111122223333', origin: 'AWS_KMS', multiRegion: true, multiRegionKeyType: 'PRIMARY',
        disabledAt: null, keyMaterialDeletedAt: null, disableOutcome: null,
        scheduledAt: recordedAt('KeyDeletionScheduled', primary), deletionDate: '2026-12-25T00:00:00Z', verifiedDeletedAt: '2026-12-28T10:00:00Z',
      },
    ]);
  });

  it("dates the erasure by the latest of its keys' dates, whatever the keys' order", async () => {
    const { entries, certificate } = await certificateOfTheLaterErasure();
    const closure = entries.find((entry) => entry.event.type === 'ClosureReceived' && entry.event.eventId === 'e-1')!;
    expect(certificate.dates).toEqual({
      requestedAt: closure.recordedAt,
      disabledAt: certificate.sanitized.keys[1]!.disabledAt,
      scheduledAt: certificate.sanitized.keys[2]!.scheduledAt,
      deletionDate: '2026-12-27T09:35:00Z',
      verifiedDeletedAt: '2026-12-28T10:00:00Z',
      completedAt: '2026-12-28T10:00:00Z',
    });
  });

  it('warns that the crypto-erase of imported key material holds only if no other copy of it exists', async () => {
    const { certificate } = await certificateOfTheLaterErasure();
    expect(certificate.postSanitizationState).toBe(
      "Key material destroyed in AWS KMS. Keys with imported material (origin EXTERNAL): the crypto-erase is complete only if no other copy of that material exists (the key material as generated and kept outside AWS, e.g. in the subject owner's HSM); every copy of data encrypted under the other keys is unrecoverable.",
    );
  });

  it('states what was sanitized, how, how it was verified and by whom, in words an auditor reads', async () => {
    const { entries } = await (await ledgerOfAnErasure()).read(subject);
    const certificate = composeCertificate(entries, context);
    expect(certificate.sanitized.media).toBe('AWS KMS customer managed keys');
    expect(certificate.method.description).toBe("The AWS KMS keys under which the subject's data was envelope-encrypted were disabled, scheduled for deletion and destroyed by AWS KMS.");
    expect(certificate.verification.method).toBe('AWS KMS DescribeKey answered NotFoundException for every key after its deletion date');
    expect(certificate.verifiedBy).toBe(`arn:aws:iam::111122223333:role/eraser (CheckDeletion of ${erasure})`);
    expect(certificate.postSanitizationState).toBe('Key material destroyed; every copy of data encrypted under these keys is unrecoverable.');
  });

  it('leaves the region and account empty for a key named by something other than an ARN', async () => {
    const ledger = ledgerDouble();
    await ledger.record(subject, null, { type: 'ClosureReceived', eventId: 'e-1', source: 'com.example.accounts', closedAt: '2026-11-20T09:29:41Z' });
    await ledger.record(subject, erasure, { type: 'ErasureStarted', eventId: 'e-1', executionName: 'erasure-d' });
    await ledger.record(subject, erasure, { type: 'KeysResolved', keys: [{ keyArn: 'k-1', keyId: 'k-1', origin: 'AWS_KMS', multiRegion: false, keyState: 'Enabled' }] });
    await ledger.record(subject, erasure, { type: 'DeletionVerified', checkedAt: '2026-12-21T10:00:00Z', keys: [{ keyArn: 'k-1', verifiedDeletedAt: '2026-12-21T10:00:00Z' }] });
    const [key] = composeCertificate((await ledger.read(subject)).entries, context).sanitized.keys;
    expect(key).toMatchObject({ keyArn: 'k-1', region: '', accountId: '' });
  });

  it('is never issued when the ledger holds no closure for the erasure', async () => {
    const ledger = ledgerDouble();
    await ledger.record(subject, erasure, { type: 'ErasureStarted', eventId: 'e-9', executionName: 'erasure-d' });
    await ledger.record(subject, erasure, { type: 'KeysResolved', keys: [{ keyArn: keyArns[0]!, keyId: 'k-1', origin: 'AWS_KMS', multiRegion: false, keyState: 'Enabled' }] });
    await ledger.record(subject, erasure, { type: 'DeletionVerified', checkedAt: '2026-12-21T10:00:00Z', keys: [{ keyArn: keyArns[0]!, verifiedDeletedAt: '2026-12-21T10:00:00Z' }] });
    expect(() => composeCertificate(ledger.table.rows.get(subject)!, context)).toThrow(new RangeError('the ledger holds no closure e-9'));
  });
});
