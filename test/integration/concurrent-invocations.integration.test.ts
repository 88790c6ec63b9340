import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedAws, type EmbeddedAws } from '../../embedded-aws/embedded-aws.ts';
import { fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
import { KMSClient } from '@aws-sdk/client-kms';
import { createSubjectKey } from '../support/embedded.ts';
import { captureLogs } from '../support/invoke.ts';
import { erasureRequestFor } from '../support/settings.ts';

/**
 * All functions share one process in the embedded AWS; concurrent invocations must still log with
 * their own Lambda context and correlation keys, as they would in separate sandboxes.
 */
let aws: EmbeddedAws;

beforeAll(async () => {
  aws = await startEmbeddedAws({ environment: { POWERTOOLS_LOG_LEVEL: 'INFO' }, log: () => undefined });
}, 60_000);
afterAll(async () => aws?.close());

describe('concurrent invocations in one process', () => {
  it('keep each log line with its own function and correlation keys', async () => {
    const execution = 'arn:aws:states:eu-west-1:111122223333:execution:crypto-erasure-local:erasure-concurrent';
    const subjects = Array.from({ length: 8 }, (_, index) => `concurrent-${index}`);
    // Half the subjects have a key (resolveKeys succeeds), half do not (it fails): both paths log.
    const kms = new KMSClient(aws.clientConfig);
    for (const subjectId of subjects.slice(0, 4)) await createSubjectKey(kms, subjectId);

    const { logs } = await captureLogs(() =>
      Promise.allSettled(
        subjects.flatMap((subjectId) => [
          aws.lambda.invoke('crypto-erasure-local-resolveKeys', { execution, request: erasureRequestFor(subjectId) }),
          aws.lambda.invoke('crypto-erasure-local-notify', { kind: 'scheduled', execution, request: erasureRequestFor(subjectId), keys: [] }),
        ]),
      ),
    );
    const lines = logs
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { function_name: string; message: string; subject: string; eventId: string });
    const count = (message: string) => lines.filter((line) => line.message === message).length;
    expect([count('notified'), count('keys authorised'), count('task failed')]).toEqual([8, 4, 4]);
    for (const line of lines) {
      const subjectId = subjects.find((candidate) => fingerprintSubject(candidate) === line.subject);
      expect(line.eventId).toBe(`event-${subjectId}`);
      expect(line.function_name).toBe(line.message === 'notified' ? 'crypto-erasure-local-notify' : 'crypto-erasure-local-resolveKeys');
      expect(line.subject).toBe(fingerprintSubject(subjectId ?? 'unknown'));
    }
  });
});
