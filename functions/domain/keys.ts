// WireGuard keys: Curve25519 (x25519) key pairs and preshared keys, base64 of 32 bytes.
import { randomBytes } from 'node:crypto';
import { x25519 } from '@noble/curves/ed25519.js';
import { WG_KEY } from './grammar.js';

const KEY_BYTES = 32;

export interface KeyPair {
  privateKey: string;
  publicKey: string;
}

const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

function decodeKey(text: string, what: string): Uint8Array {
  if (!isWireGuardKey(text)) throw new Error(`${what} is not base64 of exactly 32 bytes`);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

export function isWireGuardKey(text: string): boolean {
  return typeof text === 'string' && WG_KEY.test(text);
}

export function generatePrivateKey(): string {
  const k = new Uint8Array(randomBytes(KEY_BYTES));
  // Clamp exactly like `wg genkey`, so the stored key is byte-identical to what wg would print.
  k[0]! &= 248;
  k[31] = (k[31]! & 127) | 64;
  return toBase64(k);
}

export function publicKeyFromPrivate(privateKeyB64: string): string {
  // x25519 clamps internally, so unclamped private keys (as wg accepts them) give wg's answer too.
  return toBase64(x25519.getPublicKey(decodeKey(privateKeyB64, 'private key')));
}

export function generatePresharedKey(): string {
  return toBase64(randomBytes(KEY_BYTES));
}

export function generateKeyPair(): KeyPair {
  const privateKey = generatePrivateKey();
  return { privateKey, publicKey: publicKeyFromPrivate(privateKey) };
}
