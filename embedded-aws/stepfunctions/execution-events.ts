import type { AwsEvent } from '../protocol.ts';
import type { ExecutionStatus } from './embedded-step-functions.ts';

export interface ExecutionSnapshot {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
}

// Step Functions leaves the input, then the output, out of the event when their escaped JSON
// would exceed 248 KB, and says so in inputDetails / outputDetails (Developer Guide, "EventBridge
// payloads"). Which one is measured first is our reading of that page.
const MAX_ESCAPED_PAYLOAD_BYTES = 248 * 1024;

/**
 * The `Step Functions Execution Status Change` event a Standard execution puts on the default bus
 * at each status change. Its detail carries what DescribeExecution does, dates in epoch
 * milliseconds, absent values as null (Step Functions Developer Guide, "EventBridge (CloudWatch
 * Events) for Step Functions execution status changes", the sample events).
 */
export function executionStatusChangeEvent(execution: ExecutionSnapshot, at: Date): AwsEvent {
  const [, , , region = '', accountId = ''] = execution.executionArn.split(':');
  const outputBytes = execution.output === undefined ? 0 : escapedBytes(execution.output);
  const outputIncluded = outputBytes <= MAX_ESCAPED_PAYLOAD_BYTES;
  const inputIncluded = escapedBytes(execution.input) + (outputIncluded ? outputBytes : 0) <= MAX_ESCAPED_PAYLOAD_BYTES;
  return {
    source: 'aws.states',
    detailType: 'Step Functions Execution Status Change',
    detail: {
      executionArn: execution.executionArn,
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: execution.startDate.getTime(),
      stopDate: execution.stopDate?.getTime() ?? null,
      input: inputIncluded ? execution.input : null,
      inputDetails: { included: inputIncluded },
      output: execution.output !== undefined && outputIncluded ? execution.output : null,
      outputDetails: execution.output === undefined ? null : { included: outputIncluded },
      error: execution.error ?? null,
      cause: execution.cause ?? null,
    },
    resources: [execution.executionArn],
    region,
    accountId,
    time: at,
  };
}

function escapedBytes(payload: string): number {
  return Buffer.byteLength(JSON.stringify(payload));
}
