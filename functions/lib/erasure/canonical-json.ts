import canonicalize from 'canonicalize';

/**
 * The JSON Canonicalization Scheme (RFC 8785): object keys sorted by UTF-16 code units at every
 * level, numbers and strings as ECMAScript serialises them, no whitespace. The same certificate or
 * ledger entry always yields the same bytes, so a hash or a signature over it can be checked by
 * anyone with any RFC 8785 implementation. `canonicalize` is the scheme's reference implementation.
 */
export function canonicalJson(value: unknown): string {
  const canonical = canonicalize(value);
  if (canonical === undefined) throw new TypeError('only JSON values have a canonical form');
  return canonical;
}
