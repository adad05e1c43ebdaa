// The admin frontend's origin, from the app's context: CORS allows it and the Cognito app client
// redirects to it, so a deploy must name it. Nothing falls back to a localhost origin silently.

/** The origin the local dev server (`npm start` + the frontend's dev server) runs on. */
export const devFrontendOrigin = 'http://localhost:5173';

export const frontendOriginMissing =
  'wg-ingress: no frontend origin. Set the origin of the hosted admin frontend (CORS and the Cognito ' +
  'callback allow only it): `npx cdk deploy -c wg-ingress:frontendOrigin=https://admin.example.com` ' +
  '(or that key in cdk.json\'s context). For a development deploy against the local dev server pass ' +
  `\`-c wg-ingress:devFrontendOrigin=true\` (uses ${devFrontendOrigin}) or ` +
  `\`-c wg-ingress:frontendOrigin=${devFrontendOrigin}\` explicitly.`;

/**
 * `wg-ingress:frontendOrigin` if set; else `wg-ingress:devFrontendOrigin=true` means the dev
 * server's origin; else an error that says what to set.
 */
export function frontendOriginFrom(context: (key: string) => string | undefined): string {
  const origin = context('frontendOrigin');
  if (origin !== undefined) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new Error(`wg-ingress: frontendOrigin must be an origin (scheme://host[:port], no path), got ${JSON.stringify(origin)}`);
    }
    return origin;
  }
  if (context('devFrontendOrigin') === 'true') return devFrontendOrigin;
  throw new Error(frontendOriginMissing);
}
