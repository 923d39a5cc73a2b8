// `await using`'s symbol, declared for the npm declarations only (JSR refuses global
// augmentations): a project whose `lib` lacks `esnext.disposable` (a browser project on
// `ES2022` and `DOM`) then still type-checks `Server`'s `[Symbol.asyncDispose]()`, as
// `@types/node` declares it for Node projects.
interface SymbolConstructor {
  readonly asyncDispose: unique symbol;
}
