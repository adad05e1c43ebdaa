// The console's Content-Security-Policy, one definition for CloudFront's response-headers policy
// and local mode's server: scripts and styles only from the console's own files (Vite emits them
// as files; nothing inline), API calls only to the API (and Cognito's token endpoint), images
// only from the console and the bucket that serves the signed QR URLs, never framed.

export interface ConsoleCspSources {
  /** Origin of the API (https://… or local mode's http://127.0.0.1:<port>). */
  api: string;
  /** Origin of the signed S3 URLs (QR codes). */
  objects: string;
  /** Origin of Cognito's managed login (token endpoint), when signing in through it. */
  login?: string;
}

export function consoleCsp(s: ConsoleCspSources): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: ${s.objects}`,
    `connect-src 'self' ${s.api}${s.login ? ` ${s.login}` : ''}`,
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
