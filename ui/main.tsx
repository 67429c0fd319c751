import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, currentSession, getJson, logout, setCsrf, whenUnauthorized } from "./api.js";
import { beforeRestart, liveState, onLiveState, startLive, stopLive, type LiveState } from "./live.js";
import { ClientsPage } from "./pages/clients.js";
import { GenerationsPage } from "./pages/generations.js";
import { LabPage } from "./pages/lab.js";
import { LoginPage } from "./pages/login.js";
import { OverviewPage } from "./pages/overview.js";
import { ServicePage } from "./pages/service.js";
import { ServicesPage } from "./pages/services.js";
import { interceptLinks, navigate, routeOf, usePath, type Route } from "./router.js";
import type { Session } from "./types.js";

/**
 * The console: the session decides between the login form and the pages.
 * Any 401 (expired session, revoked token) drops back to the login form,
 * and a login returns to the page that was asked for.
 */

const NAV = [
  { href: "/ui", label: "Overview", pages: ["overview"] },
  { href: "/ui/services", label: "Services", pages: ["services", "service"] },
  { href: "/ui/clients", label: "Clients", pages: ["clients"] },
  { href: "/ui/generations", label: "Generations", pages: ["generations"] },
  { href: "/ui/lab", label: "Lab reports", pages: ["lab"] },
];

function App() {
  const path = usePath();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  useEffect(() => {
    whenUnauthorized(() => setSession(null));
    // A 401 here also goes through whenUnauthorized; other failures (server restarting) mean: try the stream again.
    beforeRestart(() => getJson("/ui/session").then(
      () => true,
      (err: unknown) => !(err instanceof ApiError && err.status === 401),
    ));
    currentSession().then(
      (s) => setSession(s ?? null),
      (err: unknown) => setFailure(String(err)),
    );
  }, []);
  useEffect(() => {
    if (session) {
      setCsrf(session.csrf ?? "");
      startLive();
    } else if (session === null) {
      setCsrf("");
      stopLive();
    }
  }, [session]);
  const route = routeOf(path);
  // The login path itself redirects once a session exists; other paths keep their URL while the form shows.
  useEffect(() => {
    if (session && route.page === "login") navigate("/ui", true);
  }, [session, route.page]);
  if (failure !== undefined)
    return (
      <main id="content" data-ready="false">
        <h1>steadymesh console</h1>
        <p role="alert">The console could not reach the server: {failure}</p>
      </main>
    );
  if (session === undefined) return <p class="muted boot">Loading…</p>;
  if (session === null) return <LoginPage onLogin={setSession} />;
  return (
    <>
      <a class="skip" href="#content">
        Skip to content
      </a>
      <Header session={session} route={route} onLogout={() => setSession(null)} />
      <CurrentPage route={route} session={session} />
    </>
  );
}

function Header(props: { session: Session; route: Route; onLogout: () => void }) {
  const [live, setLive] = useState<LiveState>(liveState());
  useEffect(() => onLiveState(setLive), []);
  const out = async () => {
    try {
      await logout();
    } catch (err) {
      console.warn("steadymesh console: logout failed; the session is dropped here anyway", err);
    }
    props.onLogout();
  };
  return (
    <header class="top">
      <a class="brand" href="/ui">
        steadymesh
      </a>
      <nav aria-label="Console">
        <ul>
          {NAV.map((item) => (
            <li key={item.href}>
              <a href={item.href} aria-current={item.pages.includes(props.route.page) ? "page" : undefined}>
                {item.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div class="who">
        <span role="status" class={live === "open" ? "live live-open" : "live"}>
          {live === "open" ? "Live" : "Reconnecting…"}
        </span>
        <span>
          {props.session.name} <span class="muted">({props.session.scope})</span>
        </span>
        <button type="button" onClick={out}>
          Log out
        </button>
      </div>
    </header>
  );
}

function CurrentPage({ route, session }: { route: Route; session: Session }) {
  switch (route.page) {
    case "overview":
    case "login":
      return <OverviewPage />;
    case "services":
      return <ServicesPage />;
    case "service":
      return <ServicePage key={route.name} name={route.name} scope={session.scope} />;
    case "clients":
      return <ClientsPage />;
    case "generations":
      return <GenerationsPage id={route.id} scope={session.scope} />;
    case "lab":
      return <LabPage name={route.name} />;
    case "not-found":
      return (
        <main id="content" tabIndex={-1} data-ready="true">
          <h1>Not found</h1>
          <p>
            No console page here. <a href="/ui">Go to the overview</a>.
          </p>
        </main>
      );
  }
}

interceptLinks();
render(<App />, document.getElementById("app")!);
