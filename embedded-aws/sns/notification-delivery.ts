/**
 * Delivery to subscribers, after Publish or Subscribe has answered: http(s) POSTs with SNS's
 * retries, JSON lines appended to files, lines printed on the console; and the record of what
 * became of each message.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import { BackgroundWork } from '../background-work.ts';
import type { Clock } from '../clock.ts';
import type { FaultInjector } from '../protocol.ts';
import { type RetryPolicy, requestContentType, retryDelaySeconds, retryPolicyOf } from './delivery-policy.ts';
import { consoleLine, messageFor, notification, snsHeaders, subscriptionConfirmation } from './notification-messages.ts';
import type { DeliveryRecord, PublishedMessage, Subscription, Topic } from './sns-model.ts';

export interface NotificationDeliveryOptions {
  clock: Clock;
  faults: FaultInjector | undefined;
  print: (line: string) => void;
  log: (line: string) => void;
  httpTimeoutMs: number;
  /** The embedded AWS's endpoint, once it listens: where a SubscribeURL points. */
  endpoint?: () => string | undefined;
}

type AttemptResult = { outcome: DeliveryRecord['outcome']; statusCode?: number; error?: string };

export class NotificationDelivery {
  private readonly options: NotificationDeliveryOptions;
  private readonly records: DeliveryRecord[] = [];
  private readonly pending: BackgroundWork;
  private readonly fileWrites = new Map<string, Promise<void>>();
  private readonly shutdown = new AbortController();

  constructor(options: NotificationDeliveryOptions) {
    this.options = options;
    this.pending = new BackgroundWork((error) => options.log(`[sns] delivery bookkeeping failed: ${String(error)}`), options.clock.activity);
  }

  /** Starts delivering one message to one subscription; Publish answers before any subscriber sees it. */
  deliver(topic: Topic, subscription: Subscription, published: PublishedMessage): void {
    this.pending.track(`sns delivery to ${subscription.endpoint}`, async () => {
      const { result, attempts } = await this.withRetries(topic, subscription, 'DeliverNotification', published.messageId, () =>
        this.attempt(topic, subscription, published),
      );
      this.record(subscription, published, attempts, result);
    });
  }

  /** Sends an http(s) endpoint the SubscriptionConfirmation carrying its token, with the same retries as a notification. */
  requestConfirmation(topic: Topic, subscription: Subscription, token: string): void {
    const messageId = randomUUID();
    this.pending.track(`sns subscription confirmation to ${subscription.endpoint}`, async () => {
      const { result, attempts } = await this.withRetries(topic, subscription, 'DeliverSubscriptionConfirmation', messageId, async () => {
        const body = JSON.stringify(subscriptionConfirmation(subscription, token, messageId, this.options.clock.now().toISOString(), this.options.endpoint?.()));
        const headers = snsHeaders('SubscriptionConfirmation', messageId, subscription, requestContentType(topic, subscription));
        return classify(await post(new URL(subscription.endpoint), body, headers, this.options.httpTimeoutMs));
      });
      if (result.outcome !== 'delivered') {
        this.options.log(`[sns] SubscriptionConfirmation for ${subscription.arn} not accepted by ${subscription.endpoint} after ${attempts} attempt(s): ${result.error ?? 'unknown error'}; the subscription stays pending`);
      }
    });
  }

  /** What became of each message for each subscription, once its delivery finished. */
  deliveries(): DeliveryRecord[] {
    return [...this.records];
  }

  get busy(): boolean {
    return this.pending.busy;
  }

  /** Resolves once no delivery is in flight (retries waiting on the clock count as in flight). */
  async idle(): Promise<void> {
    await this.pending.settled();
  }

  /** Stops retrying; deliveries still waiting are recorded as failed. */
  async close(): Promise<void> {
    this.shutdown.abort();
    await this.idle();
  }

  private async withRetries(
    topic: Topic,
    subscription: Subscription,
    operation: string,
    messageId: string,
    attempt: () => Promise<AttemptResult>,
  ): Promise<{ result: AttemptResult; attempts: number }> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const policy: RetryPolicy = retryPolicyOf(topic, subscription);
    let attempts = 0;
    for (;;) {
      attempts++;
      let result: AttemptResult;
      try {
        const fault = this.options.faults?.({
          service: 'sns',
          operation,
          input: { SubscriptionArn: subscription.arn, Protocol: subscription.protocol, Endpoint: subscription.endpoint, MessageId: messageId },
          region: topic.region,
        });
        if (fault) throw fault;
        result = await attempt();
      } catch (error) {
        result = { outcome: 'failed', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
      }
      const retriesLeft = attempts <= policy.numRetries;
      if (result.outcome !== 'failed' || !retriesLeft || this.shutdown.signal.aborted) return { result, attempts };
      await this.options.clock.sleep(retryDelaySeconds(policy, attempts) * 1000, this.shutdown.signal);
      if (this.shutdown.signal.aborted) {
        return { result: { ...result, error: `${result.error ?? ''} (the embedded SNS closed before retrying)` }, attempts };
      }
    }
  }

  private async attempt(topic: Topic, subscription: Subscription, published: PublishedMessage): Promise<AttemptResult> {
    const message = messageFor(subscription.protocol, published);
    switch (subscription.protocol) {
      case 'console':
        this.options.print(consoleLine(topic, published, message));
        return { outcome: 'delivered' };
      case 'file':
        await this.appendInOrder(subscription.endpoint, `${JSON.stringify(notification(subscription, published, message))}\n`);
        return { outcome: 'delivered' };
      case 'http':
      case 'https': {
        const raw = subscription.attributes.RawMessageDelivery === 'true';
        const body = raw ? message : JSON.stringify(notification(subscription, published, message));
        const headers = {
          ...snsHeaders('Notification', published.messageId, subscription, requestContentType(topic, subscription)),
          ...(raw ? { 'x-amz-sns-rawdelivery': 'true' } : {}),
        };
        return classify(await post(new URL(subscription.endpoint), body, headers, this.options.httpTimeoutMs));
      }
    }
  }

  /** Appends to one file strictly in publish order, so each notification stays one whole line. */
  private async appendInOrder(file: string, line: string): Promise<void> {
    const previous = this.fileWrites.get(file) ?? Promise.resolve();
    const write = previous.catch(() => undefined).then(async () => {
      await mkdir(dirname(file), { recursive: true });
      await appendFile(file, line);
    });
    this.fileWrites.set(file, write);
    await write;
  }

  private record(subscription: Subscription, published: PublishedMessage, attempts: number, result: AttemptResult): void {
    const record: DeliveryRecord = {
      subscriptionArn: subscription.arn,
      protocol: subscription.protocol,
      endpoint: subscription.endpoint,
      messageId: published.messageId,
      outcome: result.outcome,
      attempts,
      ...(result.statusCode !== undefined ? { statusCode: result.statusCode } : {}),
      ...(result.error !== undefined ? { error: result.error } : {}),
      at: this.options.clock.now().toISOString(),
    };
    this.records.push(record);
    if (record.outcome === 'failed') {
      this.options.log(`[sns] message ${published.messageId} not delivered to ${subscription.protocol} ${subscription.endpoint} after ${attempts} attempt(s): ${record.error ?? 'unknown error'} (kept in failedDeliveries())`);
    } else if (record.outcome === 'rejected-by-endpoint') {
      this.options.log(`[sns] ${subscription.endpoint} answered ${record.error ?? '4xx'} to message ${published.messageId}; SNS counts 4xx as delivered and does not retry (kept in failedDeliveries())`);
    }
  }
}

/** SNS counts 2xx as delivered, 4xx as refused for good (no retry), anything else as a failure to retry. */
function classify(statusCode: number): AttemptResult {
  if (statusCode >= 200 && statusCode < 300) return { outcome: 'delivered', statusCode };
  if (statusCode >= 400 && statusCode < 500) return { outcome: 'rejected-by-endpoint', statusCode, error: `HTTP ${statusCode}` };
  return { outcome: 'failed', statusCode, error: `HTTP ${statusCode}` };
}

/** POSTs one message; resolves with the status code, rejects on connection failure or timeout. */
function post(url: URL, body: string, headers: Record<string, string>, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(
      url,
      {
        method: 'POST',
        // A fresh connection per message, closed afterwards, so no socket outlives the delivery.
        agent: false,
        headers: { ...headers, connection: 'close', 'content-length': String(Buffer.byteLength(body)) },
        timeout: timeoutMs,
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no response within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}
