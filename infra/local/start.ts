// `npm start`: the product on this machine with embedded defaults.
//   PORT (default 8080) · WG_INGRESS_DATA_DIR (default ./.local-data) · WG_INGRESS_IN_MEMORY=1
//   WG_INGRESS_GATEWAY_NAMESPACES="i-0123456789abcdef0=gwns,…": run the gateway documents for real
//   (root, wireguard-go) in those network namespaces; without it they are recorded, not run.
//   WG_INGRESS_STATUS_INTERVAL_SECONDS (default 10): how often the gateways report (status, health).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { INSTANCE_ID } from '../../functions/domain/grammar.js';
import { CONSOLE_PATH } from './console-site.js';
import { startLocalStack } from './local-stack.js';

const inMemory = process.env.WG_INGRESS_IN_MEMORY === '1' || process.argv.includes('--in-memory');
const dataDir = inMemory ? undefined : resolve(process.env.WG_INGRESS_DATA_DIR ?? '.local-data');
const port = Number(process.env.PORT ?? 8080);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, got '${process.env.PORT}'`);
  process.exit(2);
}

function adminToken(): string {
  if (!dataDir) return randomBytes(32).toString('base64url');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

function namespaces(): Record<string, string> | undefined {
  const spec = process.env.WG_INGRESS_GATEWAY_NAMESPACES?.trim();
  if (!spec) return undefined;
  const pairs = spec.split(',').map((p) => p.trim().split('='));
  for (const pair of pairs) {
    if (pair.length !== 2 || !INSTANCE_ID.test(pair[0]!) || !/^[A-Za-z0-9_.-]{1,64}$/.test(pair[1]!)) {
      console.error('WG_INGRESS_GATEWAY_NAMESPACES must look like i-0123456789abcdef0=namespace,…');
      process.exit(2);
    }
  }
  return Object.fromEntries(pairs as [string, string][]);
}

function statusIntervalSeconds(): number | undefined {
  const value = process.env.WG_INGRESS_STATUS_INTERVAL_SECONDS;
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^[0-9]{1,5}$/.test(value) || n < 1 || n > 3600) {
    console.error(`WG_INGRESS_STATUS_INTERVAL_SECONDS must be a whole number of seconds from 1 to 3600, got '${value}'`);
    process.exit(2);
  }
  return n;
}

const gatewayNamespaces = namespaces();
const reportEverySeconds = statusIntervalSeconds();
const stack = await startLocalStack({
  port,
  dataDir,
  adminToken: adminToken(),
  host: process.env.HOST ?? '127.0.0.1',
  gatewayMode: gatewayNamespaces ? 'netns' : 'record',
  namespaces: gatewayNamespaces,
  ...(reportEverySeconds !== undefined ? { statusIntervalSeconds: reportEverySeconds } : {}),
});
console.log(`wg-ingress local API: ${stack.url}`);
console.log(`Admin token: ${stack.adminToken}`);
// The token goes in the fragment: browsers never send it to a server, and the console takes it
// out of the address bar as soon as it loads.
console.log(`Console: ${stack.url}${CONSOLE_PATH}#token=${encodeURIComponent(stack.adminToken)}`);
console.log(dataDir ? `Data folder: ${dataDir}` : 'Data: in memory (gone when this stops)');
console.log(
  gatewayNamespaces
    ? `Gateways run for real in namespaces: ${Object.entries(gatewayNamespaces).map(([i, n]) => `${i}→${n}`).join(', ')}`
    : 'Gateway documents are recorded, not run (see WG_INGRESS_GATEWAY_NAMESPACES in the README)',
);
console.log('Press Ctrl-C to stop.');

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
