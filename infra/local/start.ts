// `npm start`: the product on this machine with embedded defaults.
//   PORT (default 8080) · WG_INGRESS_DATA_DIR (default ./.local-data) · WG_INGRESS_IN_MEMORY=1
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
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

const stack = await startLocalStack({ port, dataDir, adminToken: adminToken(), host: process.env.HOST ?? '127.0.0.1' });
console.log(`wg-ingress local API: ${stack.url}`);
console.log(`Admin token: ${stack.adminToken}`);
console.log(dataDir ? `Data folder: ${dataDir}` : 'Data: in memory (gone when this stops)');
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
