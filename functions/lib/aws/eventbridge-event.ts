import * as z from '../runtime/zod.ts';

/**
 * An event as EventBridge delivers it to a function: the envelope Powertools' EventBridgeSchema
 * checks, field for field, written with zod/mini (Powertools' schemas are classic zod, which would
 * bring the whole of it into every bundle). A function extends it with its `detail`.
 */
export const EventBridgeEventSchema = z.object({
  version: z.string(),
  id: z.string(),
  source: z.string(),
  account: z.string(),
  time: z.iso.datetime(),
  region: z.string(),
  resources: z.array(z.string()),
  'detail-type': z.string(),
  detail: z.unknown(),
  'replay-name': z.optional(z.string()),
});
