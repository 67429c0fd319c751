import { inflateSync } from "node:zlib";

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A decoded 8-bit RGB or RGBA PNG: enough to look at a screenshot's pixels in a test. */
export interface DecodedPng {
  readonly width: number;
  readonly height: number;
  /** Red, green, blue of pixel (x, y); alpha is ignored (screenshots are opaque). */
  rgb(x: number, y: number): [number, number, number];
}

/** Width and height from the IHDR chunk, which must come first; throws if `bytes` is not a PNG. */
export function pngSize(bytes: Buffer): { width: number; height: number } {
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(SIGNATURE)) throw new Error("not a PNG: the 8-byte signature is missing");
  if (bytes.subarray(12, 16).toString("ascii") !== "IHDR") throw new Error("not a PNG: the first chunk is not IHDR");
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/**
 * Decodes a non-interlaced 8-bit truecolour PNG (colour type 2 or 6), which
 * is what Chromium's --screenshot and resvg write. Anything else throws.
 */
export function decodePng(bytes: Buffer): DecodedPng {
  const { width, height } = pngSize(bytes);
  const [depth, colourType, , , interlace] = bytes.subarray(24, 29);
  if (depth !== 8 || (colourType !== 2 && colourType !== 6) || interlace !== 0) {
    throw new Error(`unsupported PNG: bit depth ${depth}, colour type ${colourType}, interlace ${interlace}`);
  }
  const channels = colourType === 6 ? 4 : 3;
  const pixels = unfilter(inflateSync(idat(bytes)), width, height, channels);
  return {
    width,
    height,
    rgb(x, y) {
      const i = (y * width + x) * channels;
      return [pixels[i]!, pixels[i + 1]!, pixels[i + 2]!];
    },
  };
}

function idat(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let offset = 8; offset + 8 <= bytes.length; ) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.subarray(offset + 4, offset + 8).toString("ascii");
    if (type === "IDAT") parts.push(bytes.subarray(offset + 8, offset + 8 + length));
    if (type === "IEND") break;
    offset += 12 + length;
  }
  return Buffer.concat(parts);
}

/** Undoes the per-row filters (None, Sub, Up, Average, Paeth) of PNG's filter method 0. */
function unfilter(data: Buffer, width: number, height: number, bpp: number): Uint8Array {
  const stride = width * bpp;
  if (data.length < height * (stride + 1)) throw new Error(`PNG data too short: ${data.length} bytes for ${width}×${height}`);
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = data[y * (stride + 1)];
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const raw = data[y * (stride + 1) + 1 + x]!;
      const a = x >= bpp ? out[row + x - bpp]! : 0;
      const b = y > 0 ? out[row - stride + x]! : 0;
      const c = x >= bpp && y > 0 ? out[row - stride + x - bpp]! : 0;
      let predictor: number;
      switch (filter) {
        case 0: predictor = 0; break;
        case 1: predictor = a; break;
        case 2: predictor = b; break;
        case 3: predictor = (a + b) >> 1; break;
        case 4: predictor = paeth(a, b, c); break;
        default: throw new Error(`bad PNG filter type ${filter} in row ${y}`);
      }
      out[row + x] = (raw + predictor) & 0xff;
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}
