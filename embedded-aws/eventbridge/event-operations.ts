/** PutEvents and TestEventPattern. */
import { randomUUID } from 'node:crypto';
import { AwsServiceError, type JsonObject } from '../protocol.ts';
import type { EventBridgeBackend, EventBridgeOperation } from './event-bridge-backend.ts';
import { type EventBridgeEvent, eventTime } from './event-bridge-event.ts';
import type { EventBus, Scope } from './event-bus-store.ts';
import { matchesPattern, parseEventPattern } from './event-pattern.ts';
import { validatePutEventsEntries } from './request-validation.ts';
import { isObject, parseEntryTime, requiredString, validationError } from './wire-format.ts';

/**
 * The fields TestEventPattern requires of the event. The API reference lists `resources` too, but
 * EventBridge accepts an event without it (noted by LocalStack, whose EventBridge tests are recorded
 * against AWS: localstack-core/localstack/services/events/provider.py, test_event_pattern).
 */
const TEST_EVENT_FIELDS = ['id', 'account', 'source', 'time', 'region', 'detail-type'];

/** One PutEvents entry checked as EventBridge checks it; a refusal becomes that entry's ErrorCode. */
function acceptEntry(backend: EventBridgeBackend, entry: unknown, scope: Scope): { bus: EventBus; event: EventBridgeEvent } {
  const fields = isObject(entry) ? entry : {};
  const source = fields.Source;
  const detailType = fields.DetailType;
  const detailText = fields.Detail;
  if (typeof source !== 'string' || source === '') {
    throw new AwsServiceError('InvalidArgument', 'Parameter Source is not valid. Reason: Source is a required argument.');
  }
  if (typeof detailType !== 'string' || detailType === '') {
    throw new AwsServiceError('InvalidArgument', 'Parameter DetailType is not valid. Reason: DetailType is a required argument.');
  }
  if (typeof detailText !== 'string' || detailText === '') {
    throw new AwsServiceError('InvalidArgument', 'Parameter Detail is not valid. Reason: Detail is a required argument.');
  }
  // Only AWS services may put events whose source starts with "aws.".
  if (source.startsWith('aws.')) throw new AwsServiceError('NotAuthorizedForSourceException', 'Not authorized for the source.');
  let detail: unknown;
  try {
    detail = JSON.parse(detailText);
  } catch {
    throw new AwsServiceError('MalformedDetail', 'Detail is malformed.');
  }
  if (!isObject(detail)) throw new AwsServiceError('MalformedDetail', 'Detail is malformed.');
  const resources = fields.Resources;
  if (resources !== undefined && !(Array.isArray(resources) && resources.every((resource) => typeof resource === 'string'))) {
    throw new AwsServiceError('InvalidArgument', 'Parameter Resources is not valid.');
  }
  const bus = backend.store.existingBus(scope, typeof fields.EventBusName === 'string' ? fields.EventBusName : undefined);
  const event: EventBridgeEvent = {
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source,
    account: scope.accountId,
    time: eventTime(parseEntryTime(fields.Time) ?? backend.clock.now()),
    region: scope.region,
    resources: (resources as string[] | undefined) ?? [],
    detail,
  };
  return { bus, event };
}

export const EVENT_OPERATIONS: Record<string, EventBridgeOperation> = {
  PutEvents(backend, input, scope) {
    const entries = validatePutEventsEntries(input.Entries);
    const results = entries.map((entry): JsonObject => {
      try {
        const { bus, event } = acceptEntry(backend, entry, scope);
        backend.route(bus, event);
        return { EventId: event.id };
      } catch (error) {
        if (!(error instanceof AwsServiceError)) throw error;
        return { ErrorCode: error.code, ErrorMessage: error.message };
      }
    });
    return { FailedEntryCount: results.filter((result) => result.ErrorCode !== undefined).length, Entries: results };
  },

  TestEventPattern(_backend, input) {
    const pattern = parseEventPattern(requiredString(input, 'EventPattern'));
    let event: unknown;
    try {
      event = JSON.parse(requiredString(input, 'Event'));
    } catch {
      throw validationError('Parameter Event is not valid.');
    }
    if (!isObject(event) || TEST_EVENT_FIELDS.some((field) => !(field in event))) throw validationError('Parameter Event is not valid.');
    return { Result: matchesPattern(pattern, event) };
  },
};
