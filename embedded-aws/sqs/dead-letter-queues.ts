import type { Clock } from '../clock.ts';
import type { JsonObject } from '../protocol.ts';

export interface DeadLetter {
  queueArn: string;
  sentAt: string;
  body: JsonObject;
  /** SQS message attributes: EventBridge sets ERROR_CODE, ERROR_MESSAGE, RULE_ARN... on its dead letters. */
  attributes: Record<string, string | number>;
}

/**
 * The SQS queues that serve as dead-letter queues and on-failure destinations. One queue may be
 * fed by several services, as serverless.yml's closure dead-letter queue is by both the
 * EventBridge rule and the intake function's on-failure destination; locally it is a list of
 * messages per queue ARN, with no SQS API in front of it.
 */
export class DeadLetterQueues {
  private readonly letters: DeadLetter[] = [];
  private readonly clock: Clock;

  constructor(options: { clock: Clock }) {
    this.clock = options.clock;
  }

  send(queueArn: string, body: JsonObject, attributes: Record<string, string | number> = {}): void {
    this.letters.push({ queueArn, sentAt: this.clock.now().toISOString(), body, attributes });
  }

  messages(queueArn?: string): DeadLetter[] {
    return this.letters.filter((letter) => queueArn === undefined || letter.queueArn === queueArn);
  }
}
