// qrcode's symbol builder on its own: the package index also loads every renderer and pngjs,
// which qr.ts does not use (it writes its PNG itself). Same function as the index's `create`.
declare module 'qrcode/lib/core/qrcode.js' {
  export { create } from 'qrcode';
}
