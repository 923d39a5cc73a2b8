/**
 * Brands let `instanceof` work across two installed copies of this package (a dependency
 * that bundles its own copy, say): the check looks for a `Symbol.for` key, which is shared
 * by every copy in the realm, instead of comparing prototypes, which are not.
 */
export function hasBrand(value: unknown, brand: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}
