import { appendFile } from 'node:fs/promises';
import type { Clock } from '../clock.ts';
import type { JsonObject } from '../protocol.ts';

export interface DeadLetter {
  queueArn: string;
  sentAt: string;
  body: JsonObject;
}

/**
 * The SQS queues that serve as dead-letter queues and on-failure destinations: locally a record
 * per message, kept in memory and, if a file is configured, appended to it as JSON lines, so an
 * operator can see what never made it.
 */
export class DeadLetterQueues {
  private readonly letters: DeadLetter[] = [];
  private readonly clock: Clock;
  private readonly file: string | undefined;
  private writes: Promise<void> = Promise.resolve();

  constructor(options: { clock: Clock; file?: string }) {
    this.clock = options.clock;
    this.file = options.file;
  }

  send(queueArn: string, body: JsonObject): void {
    const letter = { queueArn, sentAt: this.clock.now().toISOString(), body };
    this.letters.push(letter);
    const file = this.file;
    if (file) this.writes = this.writes.then(() => appendFile(file, `${JSON.stringify(letter)}\n`));
  }

  messages(queueArn?: string): DeadLetter[] {
    return this.letters.filter((letter) => queueArn === undefined || letter.queueArn === queueArn);
  }

  async flushed(): Promise<void> {
    await this.writes;
  }
}
