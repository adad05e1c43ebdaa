// The shell: sign-in, a hash router (#/, #/networks/<n>/clients|gateways|audit) and the header.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { createApi } from './api';
import { finishCognitoLogin, startCognitoLogin, tokenSession, type Session } from './auth';
import type { RuntimeConfig } from './config';
import { AuditScreen } from './screens/audit';
import { ClientsScreen } from './screens/clients';
import { GatewaysScreen } from './screens/gateways';
import { NetworksScreen } from './screens/networks';

type Route = { screen: 'networks' } | { screen: 'clients' | 'gateways' | 'audit'; network: string };

function parseRoute(hash: string): Route {
  const m = /^#\/networks\/([^/]+)\/(clients|gateways|audit)$/.exec(hash);
  if (m) {
    try {
      return { screen: m[2] as 'clients' | 'gateways' | 'audit', network: decodeURIComponent(m[1]!) };
    } catch {
      /* a malformed address falls back to the list */
    }
  }
  return { screen: 'networks' };
}

function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return parseRoute(hash);
}

export function App({ config, initialToken }: { config: RuntimeConfig; initialToken?: string }) {
  const [session, setSession] = useState<Session>();
  const [problem, setProblem] = useState<string>();
  const [ready, setReady] = useState(false);
  const signedOut = (why?: string) => {
    setSession(undefined);
    setProblem(why);
  };

  useEffect(() => {
    if (config.auth === 'token') {
      if (initialToken) setSession(tokenSession(initialToken, () => signedOut()));
      setReady(true);
      return;
    }
    finishCognitoLogin(config, () => signedOut('Your session ended; sign in again.'))
      .then((s) => s && setSession(s))
      .catch((err: Error) => setProblem(err.message))
      .finally(() => setReady(true));
  }, []);

  if (!ready) return <p class="loading">Signing in…</p>;
  if (!session) return <SignIn config={config} problem={problem} onToken={(t) => setSession(tokenSession(t, () => signedOut()))} />;
  return <Console config={config} session={session} onUnauthorized={() => signedOut('The API refused the token (401); sign in again.')} />;
}

function SignIn(props: { config: RuntimeConfig; problem?: string; onToken: (token: string) => void }) {
  return (
    <main class="sign-in" id="main">
      <h1>wg-ingress console</h1>
      {props.problem && (
        <p role="alert" class="form-error">
          {props.problem}
        </p>
      )}
      {props.config.auth === 'cognito' ? (
        <button type="button" class="primary" onClick={() => void startCognitoLogin(props.config.cognito!)}>
          Sign in
        </button>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const t = String(new FormData(e.currentTarget).get('token') ?? '').trim();
            if (t) props.onToken(t);
          }}
        >
          <div class="field">
            <label for="admin-token">Admin token</label>
            <input id="admin-token" name="token" type="password" autoComplete="off" required />
            <p class="hint">The "Admin token:" line `npm start` printed.</p>
          </div>
          <button type="submit" class="primary">
            Sign in
          </button>
        </form>
      )}
    </main>
  );
}

function Console(props: { config: RuntimeConfig; session: Session; onUnauthorized: () => void }) {
  const { session } = props;
  const api = useMemo(() => createApi(props.config.apiUrl, () => session.token(), props.onUnauthorized), [session]);
  const route = useRoute();
  useEffect(() => {
    document.title = route.screen === 'networks' ? 'Networks · wg-ingress' : `${route.network}: ${route.screen} · wg-ingress`;
  }, [route.screen, 'network' in route ? route.network : '']);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          wg-ingress
        </a>
        <nav aria-label="Main">
          <a href="#/" aria-current={route.screen === 'networks' ? 'page' : undefined}>
            Networks
          </a>
        </nav>
        <button type="button" onClick={() => session.signOut()}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {route.screen === 'networks' ? <NetworksScreen api={api} /> : <NetworkPage api={api} route={route} />}
      </main>
    </>
  );
}

function NetworkPage({ api, route }: { api: ReturnType<typeof createApi>; route: Exclude<Route, { screen: 'networks' }> }) {
  const base = `#/networks/${encodeURIComponent(route.network)}`;
  const tab = (screen: Route['screen'], label: string) => (
    <a href={`${base}/${screen}`} aria-current={route.screen === screen ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <h1>
        <span class="muted">Network</span> {route.network}
      </h1>
      <nav class="tabs" aria-label={`Network ${route.network}`}>
        {tab('clients', 'Clients')}
        {tab('gateways', 'Gateways')}
        {tab('audit', 'Audit log')}
      </nav>
      {route.screen === 'clients' && <ClientsScreen api={api} network={route.network} />}
      {route.screen === 'gateways' && <GatewaysScreen api={api} network={route.network} />}
      {route.screen === 'audit' && <AuditScreen api={api} network={route.network} />}
    </>
  );
}
