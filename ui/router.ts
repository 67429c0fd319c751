import { useEffect, useState } from "preact/hooks";

export { routeOf, type Route } from "./routes.js";

/**
 * Client-side routing on real paths under /ui (the server answers every
 * /ui/... path with the same shell): the history API, and clicks on
 * same-origin /ui links intercepted so pages change without a reload.
 */

const listeners = new Set<() => void>();

export function navigate(path: string, replace = false): void {
  if (path === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  for (const listener of listeners) listener();
}

/** The current path (and search), re-rendering on navigation. */
export function usePath(): string {
  const [path, setPath] = useState(location.pathname + location.search);
  useEffect(() => {
    const update = () => setPath(location.pathname + location.search);
    listeners.add(update);
    addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      removeEventListener("popstate", update);
    };
  }, []);
  return path;
}

/** Installs the link interceptor once: plain left clicks on <a href="/ui..."> without a target. */
export function interceptLinks(): void {
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = (event.target as Element | null)?.closest?.("a");
    if (!anchor || anchor.target || anchor.hasAttribute("download")) return;
    const url = new URL(anchor.href, location.href);
    if (url.origin !== location.origin || !(url.pathname === "/ui" || url.pathname.startsWith("/ui/"))) return;
    // Lab report files are documents of their own, not console pages; an in-page anchor (the skip link) is the browser's.
    if (url.pathname.startsWith("/ui/lab-reports/")) return;
    if (url.hash !== "" && url.pathname === location.pathname) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
}
