import { useState } from "preact/hooks";
import { ApiError, login } from "../api.js";
import type { Session } from "../types.js";

/** The login form: an admin token in, a session cookie out (POST /ui/login). */
export function LoginPage(props: { onLogin: (session: Session) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      props.onLogin(await login(token.trim()));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : `could not reach the server: ${String(err)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="content" tabIndex={-1} class="login" data-ready="true">
      <h1>steadymesh console</h1>
      <form aria-label="Log in" onSubmit={submit}>
        <label for="token">Admin token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        <button type="submit" class="primary" disabled={busy}>
          Log in
        </button>
        {error !== undefined && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
      <p class="muted">A read token sees everything; write and operator tokens also see the actions their scope allows.</p>
    </main>
  );
}
