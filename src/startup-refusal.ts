/** Start-up gave up for a reason an operator can fix: one line to say so, and the exit code to act on. */
export class StartupRefusal extends Error {
  /** sysexits(3): 69 a dependency is unavailable, 78 the configuration does not fit the deployment. */
  readonly exitCode: 69 | 78;
  constructor(message: string, exitCode: 69 | 78, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupRefusal';
    this.exitCode = exitCode;
  }
}
