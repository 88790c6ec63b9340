/**
 * The limits AWS documents for the operations the embedded SNS serves, in one place so each is
 * enforced once and cited once.
 */

/**
 * Publish and PublishBatch: 256 KB, "262,144 bytes, not 262,144 characters" (API reference,
 * Publish, Message), and "all parts of the message attribute, including name, type, and value, are
 * included in the message size restriction" (Developer Guide, "Amazon SNS message attributes").
 * A topic's MaximumMessageSize attribute moves the limit, from 1,024 bytes to 1 MiB (API reference,
 * SetTopicAttributes); a batch's messages together are held to the same limit (PublishBatch).
 */
export const DEFAULT_MAXIMUM_MESSAGE_SIZE = 262_144;
export const MAXIMUM_MESSAGE_SIZE_RANGE = { min: 1024, max: 1_048_576 } as const;

/** "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100 characters long" (API reference, Publish). */
export const MAX_SUBJECT_CHARACTERS = 100;

/** A PublishBatch carries at most 10 entries, each Id up to 80 characters (API reference, PublishBatch). */
export const MAX_BATCH_ENTRIES = 10;
export const MAX_BATCH_ENTRY_ID_CHARACTERS = 80;

/** The embedded SNS's own bound on message attributes, as Amazon SQS applies to the messages it stores. */
export const MAX_MESSAGE_ATTRIBUTES = 10;

/** Topic names: 1 to 256 letters, digits, hyphens and underscores; a FIFO topic's ends in `.fifo` (API reference, CreateTopic). */
export const MAX_TOPIC_NAME_CHARACTERS = 256;

/** "Can't add more than 50 tags to a topic" (API reference, TagLimitExceededException). */
export const MAX_TAGS_PER_TOPIC = 50;

/** List operations answer 100 items a page (API reference, ListTopics and ListSubscriptions). */
export const PAGE_SIZE = 100;

/** An http(s) endpoint has about 15 seconds to answer before SNS counts the attempt failed. */
export const DEFAULT_HTTP_TIMEOUT_MS = 15_000;
