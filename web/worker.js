// The page's Web Worker: runs the codec (wasm) and the browser's own encoders off the main
// thread. Each request is { id, op, ... }; it answers { id, progress } while working, then
// { id, ok: true, result } or { id, ok: false, error }.
import init, * as ansel from "./pkg/ansel_web.js";

const wasmUrl = new URL("./pkg/ansel_web_bg.wasm", import.meta.url);

// Loads the wasm module and parses the embedded model once.
const ready = (async () => {
  const start = performance.now();
  await init({ module_or_path: wasmUrl });
  ansel.load();
  const entry = performance.getEntriesByName(wasmUrl.href)[0];
  return {
    model: ansel.modelId(),
    loadMs: performance.now() - start,
    wasmBytes: entry ? entry.decodedBodySize : null,
    wasmTransferred: entry ? entry.encodedBodySize : null,
  };
})();

self.onmessage = async ({ data }) => {
  const { id, op } = data;
  const progress = (stage) => self.postMessage({ id, progress: stage });
  try {
    const info = await ready;
    let reply;
    if (op === "ready") {
      reply = { result: info };
    } else if (op === "decode") {
      reply = decodeFile(data.bytes);
    } else if (op === "encode") {
      reply = encodeImage(data.bitmap, data.quality, progress);
    } else if (op === "compare") {
      reply = await compare(data.original, data.targetBytes, progress);
    } else {
      throw new Error(`unknown request ${op}`);
    }
    self.postMessage({ id, ok: true, result: reply.result }, reply.transfer || []);
  } catch (e) {
    self.postMessage({ id, ok: false, error: message(e) });
  }
};

// A thrown value as text: the Rust error's message, or what the browser said.
function message(e) {
  if (e instanceof WebAssembly.RuntimeError) {
    return `internal error in the codec (${e.message}); the console has the details`;
  }
  return e && e.message ? e.message : String(e);
}

// An .ansel file's pixels and header.
function decodeFile(bytes) {
  const start = performance.now();
  const decoded = ansel.decode(new Uint8Array(bytes));
  const decodeMs = performance.now() - start;
  const image = decoded.imageData;
  const result = {
    width: decoded.width,
    height: decoded.height,
    quality: decoded.quality,
    model: decoded.model,
    decoded: image,
    bytes: bytes.byteLength,
    decodeMs,
  };
  decoded.free();
  return { result, transfer: [image.data.buffer] };
}

// Encodes an image (an ImageBitmap) at `quality`, then decodes the stream back.
function encodeImage(bitmap, quality, progress) {
  ansel.checkDimensions(bitmap.width, bitmap.height);
  const original = pixelsOf(bitmap);
  bitmap.close();
  progress("encoding");
  let start = performance.now();
  const stream = ansel.encode(original, quality);
  const encodeMs = performance.now() - start;
  progress("decoding");
  start = performance.now();
  const decoded = ansel.decode(stream);
  const decodeMs = performance.now() - start;
  const image = decoded.imageData;
  const result = {
    width: decoded.width,
    height: decoded.height,
    quality: decoded.quality,
    model: decoded.model,
    original,
    decoded: image,
    stream,
    encodeMs,
    decodeMs,
    psnr: psnr(original, image),
  };
  decoded.free();
  return { result, transfer: [original.data.buffer, image.data.buffer, stream.buffer] };
}

// The browser's WebP and JPEG encoders at the largest quality whose file is no larger than
// `targetBytes` (or their smallest file, if none is).
async function compare(original, targetBytes, progress) {
  const canvas = new OffscreenCanvas(original.width, original.height);
  canvas.getContext("2d").putImageData(original, 0, 0);
  const results = [];
  for (const [name, type] of [["WebP", "image/webp"], ["JPEG", "image/jpeg"]]) {
    progress(`${name} at equal size`);
    let best = null;
    let smallest = null;
    let [lo, hi] = [0, 1];
    for (let step = 0; step < 9; step++) {
      const q = step === 0 ? 0 : (lo + hi) / 2;
      const blob = await canvas.convertToBlob({ type, quality: q });
      if (blob.type !== type) break; // this browser cannot write the format
      if (!smallest || blob.size < smallest.blob.size) smallest = { blob, q };
      if (blob.size <= targetBytes) {
        if (!best || q >= best.q) best = { blob, q };
        lo = q;
      } else {
        if (step === 0) break;
        hi = q;
      }
    }
    const pick = best || smallest;
    if (!pick) {
      results.push({ name, unsupported: true });
      continue;
    }
    const decoded = pixelsOf(await createImageBitmap(pick.blob));
    results.push({
      name,
      blob: pick.blob,
      bytes: pick.blob.size,
      quality: pick.q,
      fits: pick === best,
      decoded,
      psnr: psnr(original, decoded),
    });
  }
  return { result: results, transfer: results.flatMap((r) => (r.decoded ? [r.decoded.data.buffer] : [])) };
}

// The RGBA pixels of a bitmap.
function pixelsOf(bitmap) {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  return context.getImageData(0, 0, bitmap.width, bitmap.height);
}

// PSNR in dB over the RGB samples of two images of one size (alpha ignored).
function psnr(a, b) {
  let sum = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const d = a.data[i + c] - b.data[i + c];
      sum += d * d;
    }
  }
  const mse = sum / ((a.data.length / 4) * 3);
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}
