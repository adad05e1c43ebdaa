// Sign-in. Tokens live in memory only (a reload signs in again). Cognito: managed login with the
// authorization code flow and PKCE (the verifier and state survive the redirect in sessionStorage,
// and are removed as soon as they are used), the tokens refreshed a minute before they expire.
// Local mode: the admin token from `#token=…` (taken out of the address bar at once) or pasted.
import type { CognitoSettings, RuntimeConfig } from './config';

export interface Session {
  /** The bearer token to send now (refreshed in the background when it can be). */
  token(): string | undefined;
  signOut(): void;
}

const PKCE_KEY = 'wg-ingress.pkce';
const REFRESH_MARGIN_MS = 60_000;

/**
 * Takes `#token=…` out of the address (the history entry is replaced, so Back cannot bring it
 * back); `&next=/networks/…` names the screen to open.
 */
export function takeTokenFromAddress(): string | undefined {
  const m = /^#token=([^&]+)(?:&next=([^&]+))?/.exec(location.hash);
  if (!m) return undefined;
  const next = m[2] ? decodeURIComponent(m[2]) : '/';
  history.replaceState(null, '', `${location.pathname}${location.search}#${next.startsWith('/') ? next : '/'}`);
  return decodeURIComponent(m[1]!);
}

export function tokenSession(token: string, onSignedOut: () => void): Session {
  let current: string | undefined = token;
  return {
    token: () => current,
    signOut() {
      current = undefined;
      onSignedOut();
    },
  };
}

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** The console's address as Cognito knows it: its origin when served at the root (CloudFront). */
const redirectUri = () => (location.pathname === '/' ? location.origin : `${location.origin}${location.pathname}`);

/** Goes to Cognito's managed login; comes back to this page with ?code&state. */
export async function startCognitoLogin(c: CognitoSettings): Promise<void> {
  const verifier = randomString();
  const state = randomString();
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: c.clientId,
    redirect_uri: redirectUri(),
    scope: 'openid email',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  location.assign(`${c.domain}/oauth2/authorize?${q}`);
}

interface TokenAnswer {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
}

async function tokenRequest(c: CognitoSettings, body: Record<string, string>): Promise<TokenAnswer> {
  const res = await fetch(`${c.domain}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: c.clientId, ...body }),
  });
  if (!res.ok) throw new Error(`sign-in failed (HTTP ${res.status})`);
  return (await res.json()) as TokenAnswer;
}

/**
 * Back from managed login: trades the code for tokens (the state must match what this tab sent).
 * Undefined when the address carries no code.
 */
export async function finishCognitoLogin(config: RuntimeConfig, onSignedOut: () => void): Promise<Session | undefined> {
  const c = config.cognito!;
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  if (!code) return undefined;
  const saved = sessionStorage.getItem(PKCE_KEY);
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, '', `${location.pathname}#/`);
  const pkce = saved ? (JSON.parse(saved) as { verifier: string; state: string }) : undefined;
  if (!pkce || params.get('state') !== pkce.state) throw new Error('sign-in answer does not match this tab; sign in again');
  const first = await tokenRequest(c, { grant_type: 'authorization_code', code, redirect_uri: redirectUri(), code_verifier: pkce.verifier });
  let access: string | undefined = first.access_token;
  const refreshToken = first.refresh_token;
  let timer: number | undefined;
  const schedule = (expiresInSeconds: number) => {
    if (!refreshToken) return;
    timer = window.setTimeout(() => {
      tokenRequest(c, { grant_type: 'refresh_token', refresh_token: refreshToken })
        .then((t) => {
          access = t.access_token;
          schedule(t.expires_in);
        })
        .catch(() => {
          access = undefined;
          onSignedOut();
        });
    }, Math.max(5_000, expiresInSeconds * 1000 - REFRESH_MARGIN_MS));
  };
  schedule(first.expires_in);
  return {
    token: () => access,
    signOut() {
      window.clearTimeout(timer);
      access = undefined;
      const q = new URLSearchParams({ client_id: c.clientId, logout_uri: redirectUri() });
      location.assign(`${c.domain}/logout?${q}`);
    },
  };
}
