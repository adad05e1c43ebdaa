// Runtime settings, written beside the build at deploy (CloudFront: BucketDeployment's config.json;
// local mode: served by the API server), so one build runs anywhere.
export interface CognitoSettings {
  /** The managed-login domain, e.g. https://my-prefix.auth.eu-west-1.amazoncognito.com */
  domain: string;
  clientId: string;
  userPoolId: string;
}

export interface RuntimeConfig {
  /** Base URL of the API, no trailing slash. */
  apiUrl: string;
  /** token: local mode's admin token; cognito: managed login with PKCE. */
  auth: 'token' | 'cognito';
  cognito?: CognitoSettings;
}

export async function loadConfig(): Promise<RuntimeConfig> {
  const res = await fetch('./config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`config.json: HTTP ${res.status}`);
  const c = (await res.json()) as Partial<RuntimeConfig>;
  if (typeof c.apiUrl !== 'string' || (c.auth !== 'token' && c.auth !== 'cognito')) throw new Error('config.json: apiUrl and auth are required');
  if (c.auth === 'cognito' && (!c.cognito?.domain || !c.cognito.clientId)) throw new Error('config.json: cognito.domain and cognito.clientId are required');
  return { apiUrl: c.apiUrl.replace(/\/+$/, ''), auth: c.auth, ...(c.cognito ? { cognito: c.cognito } : {}) };
}
