// The admin frontend's origin, from the app's context: CORS allows it and the Cognito app client
// redirects to it. With the console deployed (the default) its CloudFront domain is that origin
// and this one is optional; without it a deploy must name one. Nothing falls back to a localhost
// origin silently.

/** The origin the local dev server (`npm start` + the frontend's dev server) runs on. */
export const devFrontendOrigin = 'http://localhost:5173';

export const frontendOriginMissing =
  'wg-ingress: no frontend origin, and the console is not deployed (wg-ingress:console=false). Set the origin of the hosted admin frontend (CORS and the Cognito ' +
  'callback allow only it): `npx cdk deploy -c wg-ingress:frontendOrigin=https://admin.example.com` ' +
  '(or that key in cdk.json\'s context). For a development deploy against the local dev server pass ' +
  `\`-c wg-ingress:devFrontendOrigin=true\` (uses ${devFrontendOrigin}) or ` +
  `\`-c wg-ingress:frontendOrigin=${devFrontendOrigin}\` explicitly.`;

/**
 * `wg-ingress:frontendOrigin` if set; else `wg-ingress:devFrontendOrigin=true` means the dev
 * server's origin; else none when the stack deploys its own console (its domain is the origin),
 * else an error that says what to set.
 */
export function frontendOriginFrom(context: (key: string) => string | undefined, opts: { consoleDeployed?: boolean } = {}): string | undefined {
  const origin = context('frontendOrigin');
  if (origin !== undefined) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new Error(`wg-ingress: frontendOrigin must be an origin (scheme://host[:port], no path), got ${JSON.stringify(origin)}`);
    }
    return origin;
  }
  if (context('devFrontendOrigin') === 'true') return devFrontendOrigin;
  if (opts.consoleDeployed) return undefined;
  throw new Error(frontendOriginMissing);
}
