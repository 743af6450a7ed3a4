// Express 5 (router 2) keeps each layer's path as given (rawPath), so the tree can be walked.
type Layer = { rawPath?: string; name: string; route?: { path: string; methods: Record<string, boolean> }; handle: { stack?: Layer[] } };

/**
 * Every `METHOD /path` the app serves; a static-file middleware counts as `GET <mount>/*`. A route for
 * all methods (`router.all`) is the 405 answer of a known path and serves nothing: it is not listed.
 */
export function registeredRoutes(app: unknown): string[] {
  const found = new Set<string>();
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      const at = `${prefix}${layer.rawPath === '/' ? '' : (layer.rawPath ?? '')}`;
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods).filter((m) => m !== '_all')) found.add(`${method.toUpperCase()} ${`${prefix}${layer.route.path}`.replace(/(.)\/$/, '$1')}`);
      } else if (layer.handle.stack) {
        walk(layer.handle.stack, at);
      } else if (layer.name === 'serveStatic') {
        found.add(`GET ${at.replace(/\/$/, '')}/*`);
      }
    }
  };
  walk((app as { router: { stack: Layer[] } }).router.stack, '');
  return [...found];
}
