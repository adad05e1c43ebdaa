// Local mode serves the console's build at /console/ of the API's own origin, with the same
// security headers CloudFront sends in AWS, and its runtime settings as /console/config.json.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { consoleCsp } from '../lib/console-csp.js';

export interface ConsoleSiteOptions {
  /** The console's build (console/dist). */
  dir: string;
  /** What the console reads as ./config.json. */
  config: { apiUrl: string; auth: 'token' };
  /** Origin of the S3 server the signed QR URLs point at. */
  objectsOrigin: string;
}

export const CONSOLE_PATH = '/console/';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Returns a handler that answers /console/… requests (true) and leaves the rest (false). */
export function consoleSite(opts: ConsoleSiteOptions) {
  const headers = {
    'content-security-policy': consoleCsp({ api: new URL(opts.config.apiUrl).origin, objects: opts.objectsOrigin }),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
  };
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    if (path === '/console') {
      res.writeHead(308, { location: CONSOLE_PATH });
      res.end();
      return true;
    }
    if (!path.startsWith(CONSOLE_PATH)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('method not allowed');
      return true;
    }
    const rest = path.slice(CONSOLE_PATH.length);
    if (rest === 'config.json') {
      res.writeHead(200, { ...headers, 'content-type': TYPES['.json']!, 'cache-control': 'no-store' });
      res.end(JSON.stringify(opts.config));
      return true;
    }
    // Only the build's own file names: no dot segments, no encoded slashes.
    const file = rest === '' ? 'index.html' : /^(assets\/)?[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(rest) ? rest : undefined;
    const full = file && join(opts.dir, file);
    if (!full || !existsSync(full)) {
      const built = existsSync(join(opts.dir, 'index.html'));
      res.writeHead(built ? 404 : 503, { ...headers, 'content-type': 'text/plain; charset=utf-8' });
      res.end(built ? 'not found' : 'The console is not built: run `npm run build` (npm start does when it is missing).');
      return true;
    }
    const ext = /\.[a-z]+$/.exec(full)?.[0] ?? '';
    const body = await readFile(full);
    res.writeHead(200, {
      ...headers,
      'content-type': TYPES[ext] ?? 'application/octet-stream',
      // Vite names assets by content hash; the page itself must always be fresh.
      'cache-control': file!.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
