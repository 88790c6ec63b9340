/** CreateEventBus, DescribeEventBus, ListEventBuses, DeleteEventBus. */
import { AwsServiceError } from '../protocol.ts';
import type { EventBridgeOperation } from './event-bridge-backend.ts';
import { busArn, DEFAULT_BUS, type EventBus } from './event-bus-store.ts';
import { validateBusName } from './request-validation.ts';
import { describeBus, optionalString, paginate, requiredString, validationError } from './wire-format.ts';

export const BUS_OPERATIONS: Record<string, EventBridgeOperation> = {
  CreateEventBus(backend, input, scope) {
    const name = requiredString(input, 'Name');
    validateBusName(name);
    const buses = backend.store.buses(scope);
    if (buses.has(name)) throw new AwsServiceError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
    const now = backend.clock.now();
    const bus: EventBus = {
      name,
      arn: busArn(scope, name),
      description: optionalString(input, 'Description'),
      createdAt: now,
      lastModifiedAt: now,
      rules: new Map(),
    };
    buses.set(name, bus);
    return { EventBusArn: bus.arn, ...(bus.description ? { Description: bus.description } : {}) };
  },

  DescribeEventBus(backend, input, scope) {
    return describeBus(backend.store.existingBus(scope, optionalString(input, 'Name')));
  },

  ListEventBuses(backend, input, scope) {
    const prefix = optionalString(input, 'NamePrefix') ?? '';
    const buses = [...backend.store.buses(scope).values()].filter((bus) => bus.name.startsWith(prefix));
    const page = paginate(buses, input);
    return { EventBuses: page.items.map(describeBus), ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
  },

  DeleteEventBus(backend, input, scope) {
    const name = requiredString(input, 'Name');
    if (name === DEFAULT_BUS) throw validationError('Cannot delete event bus default.');
    backend.store.buses(scope).delete(name);
    return {};
  },
};
