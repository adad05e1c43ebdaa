// The HTML pages of the one-time links (GET and POST /dl/{token}): no JavaScript, readable on a
// phone, one inline <style> allowed by its hash, nothing cached, nothing indexed, no Referer sent
// (the page's own URL carries the token).
import { createHash } from 'node:crypto';
import type { LinkView, PageDownload } from '../app/downloads.js';
import type { HttpResponse } from './responses.js';

const STYLE = [
  'body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:32rem;padding:1.5rem 1rem;color:#1a1a1a;background:#fff}',
  'h1{font-size:1.4rem;line-height:1.25;margin:0 0 1rem}',
  '.button,button{display:inline-block;font:inherit;font-weight:600;padding:.8rem 1.4rem;border:0;border-radius:.5rem;background:#1f5fbf;color:#fff;text-decoration:none;cursor:pointer}',
  'img{display:block;max-width:100%;height:auto;image-rendering:pixelated;margin:1rem 0;border:1px solid #ddd}',
  '.note{color:#555;font-size:.9rem}',
  'code{word-break:break-all}',
  '@media (prefers-color-scheme:dark){body{background:#111;color:#eee}.note{color:#aaa}}',
].join('');

export const STYLE_HASH = `sha256-${createHash('sha256').update(STYLE, 'utf8').digest('base64')}`;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** Marks a fragment as already escaped; everything else interpolated through `html` is escaped. */
class Safe {
  constructor(readonly text: string) {}
}

function html(strings: TemplateStringsArray, ...values: (string | number | Safe | Safe[])[]): Safe {
  let out = strings[0]!;
  values.forEach((v, i) => {
    const parts = Array.isArray(v) ? v : [v];
    out += parts.map((p) => (p instanceof Safe ? p.text : escapeHtml(p))).join('') + strings[i + 1]!;
  });
  return new Safe(out);
}

export function contentSecurityPolicy(imageOrigin?: string): string {
  return [
    "default-src 'none'",
    `img-src ${imageOrigin ?? "'none'"}`,
    `style-src '${STYLE_HASH}'`,
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function pageHeaders(imageOrigin?: string): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-robots-tag': 'noindex, nofollow',
    'content-security-policy': contentSecurityPolicy(imageOrigin),
    'x-content-type-options': 'nosniff',
  };
}

function page(statusCode: number, reason: string, title: string, body: Safe, imageOrigin?: string): HttpResponse {
  const doc = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<style>${new Safe(STYLE)}</style>
</head>
<body data-reason="${reason}">
<h1>${title}</h1>
${body}
</body>
</html>
`;
  return { statusCode, headers: pageHeaders(imageOrigin), body: doc.text };
}

function formatTime(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

export function landingPage(link: LinkView): HttpResponse {
  return page(
    200,
    'ready',
    'Your WireGuard configuration',
    html`<p>This link gives you the VPN configuration <strong>${link.client}</strong> of the network <strong>${link.network}</strong>.</p>
<p>It works <strong>once</strong>. Open it on the device you want to connect, or on a computer next to your phone so you can scan the QR code with the WireGuard app.</p>
<form method="post"><button type="submit">Show my configuration</button></form>
<p class="note">The link is valid until ${formatTime(link.expiresAt)}.</p>`,
  );
}

export function downloadPage(d: PageDownload): HttpResponse {
  const byoKey = d.needsPrivateKey
    ? html`<p><strong>Before you use it:</strong> this configuration has a placeholder where your private key goes (you registered your own public key, so the server never had it). Replace <code>&lt;paste your private key here&gt;</code> with your private key.</p>`
    : html``;
  return page(
    200,
    'spent',
    'Your WireGuard configuration',
    html`<p><a class="button" href="${d.configUrl}" download="${d.filename}">Download ${d.filename}</a></p>
<p>On a phone, you can instead scan this QR code in the WireGuard app (add a tunnel, then “Scan from QR code”):</p>
<img src="${d.qrUrl}" width="${d.qrPixels}" height="${d.qrPixels}" alt="QR code of the WireGuard configuration ${d.filename}">
${byoKey}
<p class="note">The download and the QR code work for ${Math.round(d.expiresInSeconds / 60)} minutes, and this page cannot be shown again: save the file or scan the code now. If they have expired, ask your administrator for a new link.</p>`,
    new URL(d.qrUrl).origin,
  );
}

const ERROR_PAGES: Record<string, { title: string; text: string }> = {
  link_used: { title: 'This link has already been used', text: 'Each link works only once. If you did not download the configuration yourself, tell your administrator and ask for a new link.' },
  link_expired: { title: 'This link has expired', text: 'Ask your administrator for a new link.' },
  link_revoked: { title: 'This link has been revoked', text: 'Your administrator has withdrawn it. Ask them for a new link if you still need access.' },
  client_disabled: { title: 'This VPN access is disabled', text: 'Your administrator has switched it off for now. Ask them to enable it and to send you a new link.' },
  client_deleted: { title: 'This VPN access has been deleted', text: 'The configuration this link was made for no longer exists. Ask your administrator for a new one.' },
  client_expired: { title: 'This VPN access has expired', text: 'Ask your administrator to extend it and to send you a new link.' },
  not_found: { title: 'This link is not valid', text: 'Check that you opened the whole link from the message you received. Links that expired long ago are also no longer known.' },
  gateway_not_ready: { title: 'Not ready yet', text: 'The VPN gateway is still being set up. Your link has not been used: try again in a few minutes.' },
};

export function errorPage(statusCode: number, code: string): HttpResponse {
  const known = ERROR_PAGES[code];
  const fallback =
    statusCode >= 500
      ? { title: 'Something went wrong', text: 'Please try again in a moment. If it keeps happening, tell your administrator.' }
      : { title: 'This request cannot be answered', text: 'Open the link exactly as you received it.' };
  const { title, text } = known ?? fallback;
  return page(statusCode, known ? code : statusCode >= 500 ? 'internal' : 'bad_request', title, html`<p>${text}</p>`);
}
