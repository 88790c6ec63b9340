import { ErasureError } from '../functions/lib/erasure/errors.ts';

/**
 * The `erasure` command's exit codes, documented in README.md: scripts tell "you asked wrongly"
 * from "it was refused to protect something" from "it broke".
 */
export const EXIT = {
  success: 0,
  /** Something failed: AWS answered an error, an erasure failed, the target could not be reached. */
  failed: 1,
  /** Bad input: a missing file, invalid JSON, an unknown option or subject. */
  badInput: 2,
  /** Refused, to protect a key or a decision: nothing to cancel, a deletion that cannot be undone. */
  refused: 3,
  /** A certificate or a ledger chain that does not verify. */
  notVerified: 4,
} as const;

export type ExitKind = keyof typeof EXIT;

/** A failure the user can act on, told in one line, with the exit code it maps to. */
export class CliError extends Error {
  readonly kind: ExitKind;
  constructor(kind: ExitKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof CliError) return EXIT[error.kind];
  // A named erasure outcome that protects a key (NothingToCancel, ErasureIrreversible...) is a refusal.
  if (error instanceof ErasureError) return error.refusal ? EXIT.refused : EXIT.failed;
  return EXIT.failed;
}
