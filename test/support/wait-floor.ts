/**
 * The least a test waits for a condition, whatever it asks: a wait's timeout guards against a
 * condition that never comes, it is not a speed limit (a loaded CI machine, or two suites at
 * once, is several times slower than an idle one). A condition that holds ends the wait at once.
 */
export const WAIT_FLOOR_MS = 60_000;
