/** Close codes of the notification stream; each tells the client what to do next (README, Live alerts). */

/** The instance is shutting down (RFC 6455 "going away"): reconnect, to another instance if need be. */
export const CLOSE_GOING_AWAY = 1001;
/** The client kept sending frames far over its limit (RFC 6455 "policy violation"). */
export const CLOSE_POLICY_VIOLATION = 1008;
/** Delivery could not go on here (the outbox could not be read): reconnect with `after=` after a short wait (RFC 6455 "try again later"). */
export const CLOSE_TRY_AGAIN_LATER = 1013;
/** The client read too slowly and stayed behind: reconnect with `after=` once it can keep up. */
export const CLOSE_TOO_SLOW = 4001;
