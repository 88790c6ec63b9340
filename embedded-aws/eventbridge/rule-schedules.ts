/**
 * Scheduled rules: a `Scheduled Event` from `aws.events` put to the rule's targets at each instant of
 * its schedule, on the virtual clock, while the rule is enabled.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { type EventBridgeEvent, eventTime } from './event-bridge-event.ts';
import type { Rule, Scope } from './event-bus-store.ts';
import { nextFireTime, type Schedule } from './schedule-expression.ts';
import type { TargetDelivery } from './target-delivery.ts';

export class RuleSchedules {
  /** Each scheduled rule's next instant: one that has come is a delivery about to start. */
  private readonly nextFirings = new Map<Rule, number>();

  private readonly clock: Clock;
  private readonly delivery: TargetDelivery;

  constructor(clock: Clock, delivery: TargetDelivery) {
    this.clock = clock;
    this.delivery = delivery;
  }

  /** True once the clock has reached a scheduled rule's next instant and its delivery has yet to start. */
  firingDue(): boolean {
    const now = this.clock.now().getTime();
    return [...this.nextFirings.values()].some((at) => at <= now);
  }

  /**
   * Runs the rule's schedule until the rule is replaced or deleted, or the EventBridge closes.
   * Instants a jump of the clock passed over fire at once, in order.
   */
  async run(rule: Rule, scope: Scope): Promise<void> {
    const schedule = rule.schedule as Schedule;
    const stopped = AbortSignal.any([rule.unscheduled.signal, this.delivery.shutdown.signal]);
    let after = this.clock.now().getTime();
    for (;;) {
      const at = nextFireTime(schedule, after, rule.scheduleAnchor);
      if (at === undefined) break;
      this.nextFirings.set(rule, at);
      await this.clock.sleepUntil(new Date(at), stopped);
      if (stopped.aborted) break;
      after = at;
      if (rule.state === 'DISABLED') continue;
      const event: EventBridgeEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: scope.accountId,
        time: eventTime(new Date(at)),
        region: scope.region,
        resources: [rule.arn],
        detail: {},
      };
      for (const target of rule.targets.values()) this.delivery.start(rule.arn, target, event);
    }
    this.nextFirings.delete(rule);
  }
}
