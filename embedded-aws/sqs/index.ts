export { EmbeddedSqs, type EmbeddedSqsOptions, type QueueMessageView } from './embedded-sqs.ts';
export { SqsError } from './wire-format.ts';
