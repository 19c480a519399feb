/**
 * Prints one recovery figure as a line the test runner passes through
 * (`recovery: <kind>: <seconds> s`), so `npm run test:faults | grep recovery:`
 * gives the table for test/faults/RECOVERY.md.
 */
export function reportRecovery(kind: string, ms: number, detail = ''): void {
  process.stdout.write(`recovery: ${kind}: ${(ms / 1000).toFixed(2)} s${detail === '' ? '' : ` (${detail})`}\n`);
}
