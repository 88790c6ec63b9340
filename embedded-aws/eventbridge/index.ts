export { compilePattern, matchesPattern, parseEventPattern, validatePattern, type CompiledPattern } from './event-pattern.ts';
export {
  EmbeddedEventBridge,
  TargetInvocationError,
  targetInput,
  type EmbeddedEventBridgeOptions,
  type EventBridgeEvent,
  type ExhaustedRetryCondition,
  type FailedDelivery,
  type RejectedEvent,
  type RetryPolicy,
  type RuleDefinition,
  type RuleState,
  type RuleTarget,
  type TargetInvoker,
} from './embedded-event-bridge.ts';
