import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedAws, type EmbeddedAws } from '../../embedded-aws/embedded-aws.ts';
import { fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
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
    const requestFor = erasureRequestFor;
    const subjects = Array.from({ length: 8 }, (_, index) => `concurrent-${index}`);
    const logs = await captureLogs(() =>
      Promise.allSettled(
        subjects.flatMap((subjectId) => [
          aws.lambda.invoke('crypto-erasure-local-resolveKeys', { execution, request: requestFor(subjectId) }),
          aws.lambda.invoke('crypto-erasure-local-notify', { kind: 'scheduled', execution, request: requestFor(subjectId), keys: [] }),
        ]),
      ),
    );
    const lines = logs
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { function_name: string; message: string; subject: string; eventId: string });
    expect(lines.length).toBeGreaterThanOrEqual(2 * subjects.length);
    for (const line of lines) {
      const subjectId = subjects.find((candidate) => fingerprintSubject(candidate) === line.subject);
      expect(line.eventId).toBe(`event-${subjectId}`);
      expect(line.function_name).toBe(line.message === 'notified' ? 'crypto-erasure-local-notify' : 'crypto-erasure-local-resolveKeys');
    }
  });
});
