import type { Clock } from '../clock.ts';
import type { JsonObject, RequestContext } from '../protocol.ts';
import type { EventBridgeEvent } from './event-bridge-event.ts';
import type { EventBus, EventBusStore, Scope } from './event-bus-store.ts';
import type { RuleSchedules } from './rule-schedules.ts';

/** What every EventBridge operation works on: the buses and rules, the one clock, schedules and routing. */
export interface EventBridgeBackend {
  store: EventBusStore;
  clock: Clock;
  schedules: RuleSchedules;
  /** Hands an accepted event to every enabled rule of the bus whose pattern it matches. */
  route(bus: EventBus, event: EventBridgeEvent): void;
}

export type EventBridgeOperation = (backend: EventBridgeBackend, input: JsonObject, context: RequestContext | Scope) => JsonObject;
