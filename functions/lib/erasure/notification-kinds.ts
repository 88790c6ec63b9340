/**
 * The kinds of notification the pipeline publishes, apart from how they are composed: the ledger
 * records which kinds it published, and must not depend on the composer (notifications.ts), which
 * carries the certificate, which is built from the ledger.
 */
export type ErasureNotificationKind = 'scheduled' | 'completed' | 'cancelled' | 'held' | 'failed' | 'stopped';
/** On-call alerts about keys rather than about one erasure: a key pending deletion in use, the daily audit. */
export type AlertKind = 'key-used-while-pending-deletion' | 'key-audit';
export type NotificationKind = ErasureNotificationKind | AlertKind;
