import type { SignalSource, StopSignal } from "./context.js";

const STOP_SIGNALS: readonly StopSignal[] = ["SIGINT", "SIGTERM"];

/** Calls `onSignal` on the first stop signal only; returns a function that removes the listeners. */
export function onFirstSignal(signals: SignalSource, onSignal: (signal: StopSignal) => void): () => void {
  const listeners: [StopSignal, () => void][] = [];
  const cancel = (): void => {
    for (const [name, listener] of listeners.splice(0)) signals.off(name, listener);
  };
  for (const name of STOP_SIGNALS) {
    const listener = (): void => {
      cancel();
      onSignal(name);
    };
    listeners.push([name, listener]);
    signals.once(name, listener);
  }
  return cancel;
}

/** This process's SIGINT and SIGTERM, and process.exit. */
export function processSignals(): SignalSource {
  return {
    once: (signal, listener) => void process.once(signal, listener),
    off: (signal, listener) => void process.off(signal, listener),
    exit: (code) => process.exit(code),
  };
}
