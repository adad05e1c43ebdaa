// QR code of a client config, for the WireGuard mobile apps' "scan from QR code".
import { crc32, deflateSync } from 'node:zlib';
import type QRCode from 'qrcode';
// The symbol builder alone; the package index would add every renderer and pngjs (~35 KB) to the bundle.
import { create } from 'qrcode/lib/core/qrcode.js';
import { PayloadTooLargeError } from './errors.js';

export type ErrorCorrectionLevel = 'H' | 'Q' | 'M' | 'L';

/**
 * Strongest first: a config printed or shown on a scratched screen scans better with more
 * redundancy, but a long config (many routed ranges, a long host name) only fits at a lower level.
 */
export const ERROR_CORRECTION_STEPS: readonly ErrorCorrectionLevel[] = ['H', 'Q', 'M', 'L'];

/** Pixels per module: the image grows with the QR version, so modules stay this size on screen. */
export const QR_MODULE_PIXELS = 4;
/** The quiet zone the QR standard asks for (4 modules); scanners miss codes without it. */
export const QR_MARGIN_MODULES = 4;

export interface QrSymbolInfo {
  version: number;
  errorCorrectionLevel: ErrorCorrectionLevel;
  modules: number;
}

// qrcode's only signal that the data is too long for any version at this level.
const TOO_BIG = /amount of data is too big/i;

function createSymbol(text: string): { qr: QRCode.QRCode; level: ErrorCorrectionLevel } {
  if (typeof text !== 'string' || text.length === 0) throw new TypeError('QR text must be a non-empty string');
  // One byte-mode segment of the UTF-8 text rather than qrcode's optimal mixed segmentation:
  // every scanner reads byte mode, the size difference for a config is a few percent, and the
  // search for the optimal split cost more than half of the 30 ms budget for the largest config.
  const bytes = Buffer.from(text, 'utf8');
  for (const level of ERROR_CORRECTION_STEPS) {
    try {
      return { qr: create([{ data: bytes, mode: 'byte' }], { errorCorrectionLevel: level }), level };
    } catch (err) {
      if (!(err instanceof Error) || !TOO_BIG.test(err.message)) throw err;
    }
  }
  throw new PayloadTooLargeError(
    `the config is ${Buffer.byteLength(text, 'utf8')} bytes: too long for a QR code even at error correction level L`,
  );
}

/** Which symbol renderQrPng would draw for this text (for tests and the bench). */
export function qrSymbolInfo(text: string): QrSymbolInfo {
  const { qr, level } = createSymbol(text);
  return { version: qr.version, errorCorrectionLevel: level, modules: qr.modules.size };
}

/**
 * qrcode's own PNG output is 8-bit RGBA through pngjs: ~70 ms for the largest config, over the
 * 30 ms budget. A QR symbol is two colours, so a 1-bit greyscale PNG written straight from the
 * module matrix is ~30x less raw data; deflate is the only cost left.
 */
function encodePng(modules: QRCode.BitMatrix): Buffer {
  const side = (modules.size + 2 * QR_MARGIN_MODULES) * QR_MODULE_PIXELS;
  const rowBytes = 1 + Math.ceil(side / 8); // filter byte, then 8 pixels per byte (1 = white)
  const raw = Buffer.alloc(rowBytes * side, 0xff);
  const row = Buffer.alloc(rowBytes);
  for (let y = 0; y < modules.size; y++) {
    row.fill(0xff);
    row[0] = 0; // filter: none
    for (let x = 0; x < modules.size; x++) {
      if (!modules.get(y, x)) continue;
      const px0 = (x + QR_MARGIN_MODULES) * QR_MODULE_PIXELS;
      for (let px = px0; px < px0 + QR_MODULE_PIXELS; px++) {
        row[1 + (px >> 3)]! &= ~(0x80 >> (px & 7));
      }
    }
    const py0 = (y + QR_MARGIN_MODULES) * QR_MODULE_PIXELS;
    for (let py = py0; py < py0 + QR_MODULE_PIXELS; py++) row.copy(raw, py * rowBytes);
  }
  for (let py = 0; py < side; py++) raw[py * rowBytes] = 0; // filter byte of the margin rows

  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // colour type: greyscale
  // compression, filter and interlace methods: 0
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

export async function renderQrPng(text: string): Promise<Buffer> {
  return encodePng(createSymbol(text).qr.modules);
}
