/** The little of a logger the shutdown writes to (pino's fits). */
type LogLine = (fieldsOrMessage: object | string, message?: string) => void;

type ShutdownSignal = 'SIGTERM' | 'SIGINT';

/** Where the stop signals come from: the process, or a stand-in in tests. */
export interface SignalSource {
  on(signal: ShutdownSignal, listener: (signal: NodeJS.Signals) => void): unknown;
}

/**
 * The most a graceful stop may take. Past it, `force` drops every connection
 * still open (a QUIT that a client with Redis gone could wait on for ever,
 * a close stuck on a socket) and names the closing steps that had not
 * finished; the process then exits 1 rather than outliving its grace period.
 */
export interface ShutdownBound {
  afterMs: number;
  force(): readonly string[];
}

/**
 * Resolves with the exit code once `stop` has run after the first SIGTERM
 * (docker stop) or SIGINT (Ctrl-C): 0 when it finished, 1 when it failed or
 * overran `bound`. A second Ctrl-C forces the exit (130); a repeated SIGTERM
 * does not, since `timeout` sends it to the process and again to its group,
 * and an orchestrator that will not wait escalates to SIGKILL itself.
 */
export function shutdownOnSignals(
  stop: () => Promise<void>,
  logger: { info: LogLine; error: LogLine },
  signals: SignalSource = process,
  forceExit: (code: number) => void = (code) => process.exit(code),
  bound?: ShutdownBound,
): Promise<number> {
  return new Promise<number>((resolve) => {
    let signalled = false;
    let overrun: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (code: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(overrun);
      resolve(code);
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        if (signal === 'SIGINT') forceExit(130);
        else logger.info({ signal }, 'already shutting down');
        return;
      }
      signalled = true;
      logger.info({ signal }, 'shutting down');
      if (bound !== undefined) {
        // Not unref'd: a stop stuck on a promise nothing will settle must still end here.
        overrun = setTimeout(() => {
          if (settled) return;
          const unfinished = bound.force();
          logger.error(
            { after_ms: bound.afterMs, unfinished },
            `shutdown did not finish within ${bound.afterMs} ms; forced closed what was still open: ${unfinished.length > 0 ? unfinished.join(', ') : 'no step was pending'}`,
          );
          settle(1);
        }, bound.afterMs);
      }
      void stop().then(
        () => {
          if (settled) return;
          logger.info('stopped');
          settle(0);
        },
        (error: unknown) => {
          if (settled) return;
          logger.error({ err: String(error) }, 'shutdown failed');
          settle(1);
        },
      );
    };
    signals.on('SIGTERM', onSignal);
    signals.on('SIGINT', onSignal);
  });
}

/**
 * The stop signals heard while the service starts, handed on once it is up.
 * Until a listener is added, a SIGTERM kills a Node process outright: no stop,
 * no log line, jobs left to their lock timeouts. A service logs that it has
 * started a moment before `shutdownOnSignals` listens, so a `docker stop` right
 * after start-up (or one during it) used to land in that gap. Held here, the
 * stop runs as soon as the start is done; the start is bounded (an unreachable
 * Redis ends it within seconds), so the wait is too. A second Ctrl-C during
 * the start exits at once, as it does while stopping.
 */
export class SignalsHeldDuringStart implements SignalSource {
  private readonly held: ShutdownSignal[] = [];
  private readonly listeners = new Map<ShutdownSignal, (signal: NodeJS.Signals) => void>();

  constructor(source: SignalSource = process, forceExit: (code: number) => void = (code) => process.exit(code)) {
    const hear = (signal: ShutdownSignal): void => {
      const listener = this.listeners.get(signal);
      if (listener !== undefined) listener(signal);
      else if (signal === 'SIGINT' && this.held.includes('SIGINT')) forceExit(130);
      else this.held.push(signal);
    };
    source.on('SIGTERM', () => hear('SIGTERM'));
    source.on('SIGINT', () => hear('SIGINT'));
  }

  /** Listens from now on, first hearing the signals of this kind held so far. */
  on(signal: ShutdownSignal, listener: (signal: NodeJS.Signals) => void): this {
    this.listeners.set(signal, listener);
    for (let index = this.held.indexOf(signal); index !== -1; index = this.held.indexOf(signal)) {
      this.held.splice(index, 1);
      listener(signal);
    }
    return this;
  }
}
