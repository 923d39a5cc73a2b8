/**
 * The type tests' one assertion: `expectType<Equal<Actual, Expected>>()` compiles only when
 * the two types are identical (not merely assignable either way). Eight lines instead of a
 * dependency, and they type-check on every TypeScript the package supports.
 */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/**
 * Compiles when `T` is `true`.
 *
 * @example
 * expectType<Equal<Awaited<ReturnType<StreamReader['readline']>>, Bytes>>();
 */
export function expectType<T extends true>(): T | void {}
