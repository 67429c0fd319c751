import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api.js";

/** What a page's fetch gave: the data once it came, the error text if the last try failed. */
export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: string | undefined;
  /** Fetch again (live updates call it); overlapping calls are dropped but the latest wins. */
  readonly reload: () => void;
}

/**
 * Loads `load()` when `key` changes and on reload(); keeps showing the
 * previous data while a reload runs, so live refreshes do not flicker.
 */
export function useData<T>(key: string, load: (signal: AbortSignal) => Promise<T>): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const keyRef = useRef(key);
  useEffect(() => {
    if (keyRef.current !== key) {
      keyRef.current = key;
      setData(undefined);
    }
    const controller = new AbortController();
    loadRef.current(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return;
        setData(value);
        setError(undefined);
      },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        setError(err instanceof ApiError ? err.message : String(err));
      },
    );
    return () => controller.abort();
  }, [key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, reload };
}
