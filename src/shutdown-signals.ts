/** The little of a logger the shutdown writes to (pino's fits). */
type LogLine = (fieldsOrMessage: object | string, message?: string) => void;

/**
 * Resolves with the exit code once `stop` has run after the first SIGTERM
 * (docker stop) or SIGINT (Ctrl-C). A second Ctrl-C forces the exit (130);
 * a repeated SIGTERM does not, since `timeout` sends it to the process and
 * again to its group, and an orchestrator that will not wait escalates to
 * SIGKILL itself.
 */
export function shutdownOnSignals(
  stop: () => Promise<void>,
  logger: { info: LogLine; error: LogLine },
  signals: { on(signal: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): unknown } = process,
  forceExit: (code: number) => void = (code) => process.exit(code),
): Promise<number> {
  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        if (signal === 'SIGINT') forceExit(130);
        else logger.info({ signal }, 'already shutting down');
        return;
      }
      signalled = true;
      logger.info({ signal }, 'shutting down');
      void stop().then(
        () => {
          logger.info('stopped');
          resolve(0);
        },
        (error: unknown) => {
          logger.error({ err: String(error) }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    signals.on('SIGTERM', onSignal);
    signals.on('SIGINT', onSignal);
  });
}
