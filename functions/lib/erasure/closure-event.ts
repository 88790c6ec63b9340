import { EventBridgeEventSchema } from '../aws/eventbridge-event.ts';
import * as z from '../runtime/zod.ts';
import { ClosureEventInvalid } from './errors.ts';
import { SUBJECT_ID_PATTERN, fingerprintSubject, type SubjectFingerprint } from './subject.ts';

/**
 * The contract with upstream systems: an EventBridge event with `detail-type: AccountClosed`
 * from a configured source. README.md documents it; events/ holds samples.
 */
export const CLOSURE_DETAIL_TYPE = 'AccountClosed';

// A key id (UUID), a multi-Region key id (mrk-...), or the ARN of either. Aliases are refused here:
// they are mutable, and the subject's own alias is looked up anyway.
const KEY_REFERENCE = /^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;

export const AccountClosedDetail = z.object({
  subjectId: z.string().check(z.regex(SUBJECT_ID_PATTERN, 'must be 1 to 200 characters of A-Z, a-z, 0-9, _ and -')),
  closedAt: z.iso.datetime({ offset: true }),
  reason: z.optional(z.string().check(z.maxLength(1000))),
  keyIds: z.optional(z.array(z.string().check(z.regex(KEY_REFERENCE, 'must be a KMS key id or key ARN'))).check(z.maxLength(50))),
});

export const ClosureEvent = z.extend(EventBridgeEventSchema, {
  'detail-type': z.literal(CLOSURE_DETAIL_TYPE),
  detail: AccountClosedDetail,
});

export type ClosureEvent = z.infer<typeof ClosureEvent>;

/** What the erasure state machine receives: the closure, normalised, with no optional fields left to JSONPath. */
export interface ErasureRequest {
  subjectId: string;
  subjectFingerprint: SubjectFingerprint;
  eventId: string;
  source: string;
  closedAt: string;
  reason: string | null;
  keyIds: string[];
}

export function toErasureRequest(event: ClosureEvent): ErasureRequest {
  return {
    subjectId: event.detail.subjectId,
    subjectFingerprint: fingerprintSubject(event.detail.subjectId),
    eventId: event.id,
    source: event.source,
    closedAt: event.detail.closedAt,
    reason: event.detail.reason ?? null,
    keyIds: [...new Set(event.detail.keyIds ?? [])],
  };
}

export const ErasureRequestSchema = z.object({
  subjectId: z.string().check(z.regex(SUBJECT_ID_PATTERN)),
  subjectFingerprint: z.string(),
  eventId: z.string(),
  source: z.string(),
  closedAt: z.string(),
  reason: z.nullable(z.string()),
  keyIds: z.array(z.string()),
});

export type ParsedClosure =
  | { success: true; data: ClosureEvent }
  | { success: false; error: ParseFailure };

type Issue = { path: readonly PropertyKey[]; message: string };
// zod reports issues on its own error; the Powertools parser hands them over as the `cause` of a ParseError.
type ParseFailure = { issues?: readonly Issue[]; message?: string; cause?: unknown };

/**
 * Accepts a parsed closure event from an allowed source, or refuses it with ClosureEventInvalid.
 * The refusal names the fields at fault and why, never their values: they may be personal data.
 */
export function acceptClosure(parsed: ParsedClosure, allowedSources: string[]): ErasureRequest {
  if (!parsed.success) {
    const { cause } = parsed.error;
    const found = parsed.error.issues ?? (Array.isArray(cause) ? (cause as Issue[]) : (cause as ParseFailure | undefined)?.issues);
    const issues = found?.map((issue) => `${issue.path.map(String).join('.') || '(event)'}: ${issue.message}`) ?? [
      parsed.error.message ?? 'unreadable event',
    ];
    throw new ClosureEventInvalid(`malformed AccountClosed event: ${issues.join('; ')}`);
  }
  if (!allowedSources.includes(parsed.data.source)) {
    throw new ClosureEventInvalid('source: not an allowed closure source');
  }
  return toErasureRequest(parsed.data);
}
