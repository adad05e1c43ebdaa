import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { PayloadTooLargeError } from '../../../functions/domain/errors.js';
import { qrSymbolInfo, renderQrPng, QR_MARGIN_MODULES, QR_MODULE_PIXELS } from '../../../functions/domain/qr.js';
import { renderClientConfig } from '../../../functions/domain/render-client-config.js';
import { configVariants, largestAllowedConfig, largestAllowedConfigInputs } from './fixtures.js';

const ZBARIMG = '/usr/bin/zbarimg';

function decodeWithJsQr(png: Buffer): Buffer {
  const image = PNG.sync.read(png); // checks every chunk's CRC
  const code = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
  assert.ok(code, 'jsQR found no QR code');
  return Buffer.from(code.binaryData);
}

let dir: string;
let n = 0;
function decodeWithZbar(png: Buffer): Buffer {
  const file = join(dir, `qr-${n++}.png`);
  writeFileSync(file, png);
  // zbarimg --raw prints each symbol's data followed by exactly one '\n'. Stderr is ignored: it
  // complains about a missing D-Bus on machines without one.
  return execFileSync(ZBARIMG, ['--raw', '-q', file], { stdio: ['ignore', 'pipe', 'ignore'] });
}

const cases: Array<[string, string]> = [
  ...Object.entries(configVariants).map(([name, input]): [string, string] => [name, renderClientConfig(input)]),
  ...largestAllowedConfigInputs().map((input, i): [string, string] => [`largest allowed #${i + 1}`, renderClientConfig(input)]),
];

describe('renderQrPng', () => {
  before(() => {
    assert.ok(existsSync(ZBARIMG), 'zbarimg is missing: apt-get install zbar-tools');
    dir = mkdtempSync(join(tmpdir(), 'wg-ingress-qr-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, text] of cases) {
    it(`encodes the ${name} config so jsQR and zbarimg read back the same bytes`, async () => {
      const png = await renderQrPng(text);
      const expected = Buffer.from(text, 'utf8');
      assert.deepEqual(decodeWithJsQr(png), expected);
      assert.deepEqual(decodeWithZbar(png), Buffer.concat([expected, Buffer.from('\n')]));
    });
  }

  it('uses the strongest error correction that fits: H for a short config', () => {
    assert.equal(qrSymbolInfo(renderClientConfig(configVariants['generated-key']!)).errorCorrectionLevel, 'H');
  });

  it('steps the error correction down so the largest allowed config still fits', () => {
    const largest = largestAllowedConfig();
    const info = qrSymbolInfo(largest);
    assert.notEqual(info.errorCorrectionLevel, 'H');
    assert.ok(info.version <= 40);
  });

  it('grows the image with the content, keeping the module size', async () => {
    const small = PNG.sync.read(await renderQrPng(renderClientConfig(configVariants['dns-none']!)));
    const large = PNG.sync.read(await renderQrPng(largestAllowedConfig()));
    assert.ok(large.width > small.width);
    for (const [image, text] of [
      [small, renderClientConfig(configVariants['dns-none']!)],
      [large, largestAllowedConfig()],
    ] as const) {
      const { modules } = qrSymbolInfo(text);
      assert.equal(image.width, (modules + 2 * QR_MARGIN_MODULES) * QR_MODULE_PIXELS);
      assert.equal(image.height, image.width);
    }
  });

  it('steps all the way down to L when M cannot hold the text', () => {
    // 2331 bytes is the most version 40 holds at level M; 2953 at L.
    assert.equal(qrSymbolInfo('x'.repeat(2332)).errorCorrectionLevel, 'L');
    assert.equal(qrSymbolInfo('x'.repeat(2953)).errorCorrectionLevel, 'L');
  });

  it('refuses with a clear error a text that even level L cannot hold', async () => {
    await assert.rejects(renderQrPng('x'.repeat(2954)), (err: unknown) => {
      assert.ok(err instanceof PayloadTooLargeError);
      assert.match(err.message, /2954 bytes.*level L/);
      return true;
    });
  });

  it('refuses an empty text', async () => {
    await assert.rejects(renderQrPng(''), TypeError);
  });
});
