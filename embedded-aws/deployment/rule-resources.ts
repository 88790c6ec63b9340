/**
 * AWS::Events::Rule resources, and their targets with only the properties the embedded EventBridge
 * applies.
 */
import type { RuleState, RuleTarget } from '../eventbridge/embedded-event-bridge.ts';
import { RULE_STATES } from '../eventbridge/event-bus-store.ts';
import type { PlanContext } from './intrinsics.ts';
import type { LocalRuleDeployment } from './local-deployment.ts';

/** The AWS::Events::Rule Target properties the embedded EventBridge honours. */
const RULE_TARGET_PROPERTIES = ['Id', 'Arn', 'RoleArn', 'Input', 'InputPath', 'RetryPolicy', 'DeadLetterConfig'];

export function planRuleResources(plan: PlanContext): LocalRuleDeployment[] {
  const { resources, resolve, resolveWithin, ruleIdentity } = plan;
  const plannedTarget = (declared: unknown, where: string): RuleTarget => {
    const target = (declared ?? {}) as Record<string, unknown>;
    // A property the embedded EventBridge would not apply (InputTransformer, SqsParameters...) is
    // refused, rather than run locally a target that behaves unlike the deployed one.
    const unsupported = Object.keys(target).find((property) => !RULE_TARGET_PROPERTIES.includes(property));
    if (unsupported !== undefined) throw new Error(`${where}.${unsupported}: the embedded EventBridge does not apply ${unsupported}`);
    const deadLetterQueueArn = (target.DeadLetterConfig as { Arn?: unknown } | undefined)?.Arn;
    return {
      Id: resolve(target.Id, `${where}.Id`),
      Arn: resolve(target.Arn, `${where}.Arn`),
      ...(target.RoleArn !== undefined ? { RoleArn: resolve(target.RoleArn, `${where}.RoleArn`) } : {}),
      ...(target.Input !== undefined ? { Input: resolve(target.Input, `${where}.Input`) } : {}),
      ...(target.InputPath !== undefined ? { InputPath: resolve(target.InputPath, `${where}.InputPath`) } : {}),
      ...(target.RetryPolicy !== undefined ? { RetryPolicy: target.RetryPolicy as RuleTarget['RetryPolicy'] } : {}),
      ...(deadLetterQueueArn !== undefined ? { DeadLetterConfig: { Arn: resolve(deadLetterQueueArn, `${where}.DeadLetterConfig.Arn`) } } : {}),
    };
  };

  return Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::Events::Rule')
    .map(([logicalId, resource]) => {
      const where = `resources.${logicalId}`;
      const declared = resource.Properties ?? {};
      const { name, eventBusName } = ruleIdentity(logicalId);
      const state = declared.State === undefined ? 'ENABLED' : resolve(declared.State, `${where}.State`);
      if (!RULE_STATES.includes(state as RuleState)) {
        throw new Error(`${where}.State: ${state} is not a rule state (${RULE_STATES.join(', ')})`);
      }
      if (declared.EventPattern === undefined && declared.ScheduleExpression === undefined) {
        throw new Error(`${where}: a rule needs an EventPattern, a ScheduleExpression or both`);
      }
      // CloudFormation takes the pattern as JSON or as JSON text.
      const declaredPattern = typeof declared.EventPattern === 'string' ? (JSON.parse(declared.EventPattern) as unknown) : declared.EventPattern;
      const declaredTargets = Array.isArray(declared.Targets) ? (declared.Targets as unknown[]) : [];
      return {
        name,
        eventBusName,
        ...(declaredPattern !== undefined ? { pattern: resolveWithin(declaredPattern, `${where}.EventPattern`) as Record<string, unknown> } : {}),
        ...(declared.ScheduleExpression !== undefined ? { scheduleExpression: resolve(declared.ScheduleExpression, `${where}.ScheduleExpression`) } : {}),
        state: state as RuleState,
        ...(declared.Description !== undefined ? { description: resolve(declared.Description, `${where}.Description`) } : {}),
        targets: declaredTargets.map((target, index) => plannedTarget(target, `${where}.Targets.${index}`)),
      };
    });
}
