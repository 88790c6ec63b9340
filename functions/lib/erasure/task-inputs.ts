import * as z from '../runtime/zod.ts';
import { ErasureRequestSchema } from './closure-event.ts';

/**
 * Schemas of what the state machine hands each task (statemachines/erasure.asl.json). They are
 * written by our own states, but are parsed all the same: a mistake in the ASL then fails loudly
 * with a ParseError at the task, not as a key touched with the wrong arguments.
 */
export const ErasureKeySchema = z.object({
  keyId: z.string(),
  keyArn: z.string().check(z.startsWith('arn:')),
  keyState: z.string(),
  origin: z.string(),
  multiRegion: z.boolean(),
  multiRegionKeyType: z.optional(z.enum(['PRIMARY', 'REPLICA'])),
  deletionDate: z.optional(z.string()),
  pendingWindowDays: z.optional(z.number()),
});

export const ScheduledKeySchema = z.object({
  keyId: z.string(),
  keyArn: z.string().check(z.startsWith('arn:')),
  keyState: z.string(),
  deletionDate: z.nullable(z.string()),
  pendingWindowDays: z.number(),
  alreadyScheduled: z.boolean(),
});

const KeyCheckSchema = z.object({
  keyArn: z.string(),
  fate: z.enum(['Deleted', 'PendingDeletion', 'PendingReplicaDeletion', 'DeletionCancelled']),
  keyState: z.nullable(z.string()),
  deletionDate: z.nullable(z.string()),
});

const VerificationSchema = z.object({
  status: z.enum(['Deleted', 'Pending', 'Cancelled']),
  checkedAt: z.string(),
  nextCheckAt: z.nullable(z.string()),
  recheckInSeconds: z.optional(z.nullable(z.number())),
  keys: z.array(KeyCheckSchema),
});

const Envelope = { execution: z.string(), request: ErasureRequestSchema };

export const NotifyInput = z.discriminatedUnion('kind', [
  z.object({ ...Envelope, kind: z.literal('scheduled'), keys: z.array(ScheduledKeySchema) }),
  z.object({ ...Envelope, kind: z.literal('completed'), keys: z.array(ScheduledKeySchema), verification: VerificationSchema }),
  z.object({ ...Envelope, kind: z.literal('cancelled'), keys: z.array(ScheduledKeySchema), verification: VerificationSchema }),
  z.object({ ...Envelope, kind: z.literal('failed'), failure: z.object({ Error: z.string(), Cause: z.optional(z.nullable(z.string())) }) }),
]);
