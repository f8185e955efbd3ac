// The page in headless Chromium, against the `ansel` command line: streams the CLI made decode
// in the page to the CLI's pixels, a stream the page made is the CLI's stream of the same
// image, bad input shows an error, the page works offline, and a screenshot is saved.
//
// Needs web/pkg (web/build.sh), Chromium (CHROMIUM, default /usr/bin/chromium) and the CLI
// (ANSEL_CLI, default target/release/ansel or target/debug/ansel). Screenshots go to
// ANSEL_WEB_ARTIFACTS (default web/test-artifacts). With ANSEL_WEB_TIMING=<image>, also
// prints the page's encode and decode times of that image.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { PNG } from "pngjs";

const web = path.resolve(import.meta.dirname, "..");
const root = path.resolve(web, "..");
const artifacts = process.env.ANSEL_WEB_ARTIFACTS || path.join(web, "test-artifacts");
const cli =
  process.env.ANSEL_CLI ||
  ["release", "debug"].map((p) => path.join(root, "target", p, "ansel")).find((p) => fs.existsSync(p));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ansel-web-"));
const file = (name) => path.join(tmp, name);

let server;
let browser;
let context;
let page;
const pageErrors = [];

// ---- inputs and the CLI -------------------------------------------------------------------

function writePng(name, width, height, pixel) {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 4 * (y * width + x);
      const [r, g, b] = pixel(x, y);
      png.data.set([r, g, b, 255], i);
    }
  }
  fs.writeFileSync(file(name), PNG.sync.write(png));
  return file(name);
}

// An RGB picture of odd size: gradients, edges and noise from a fixed seed.
function generatedImage() {
  let seed = 12345;
  const noise = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24) % 32;
  return writePng("generated.png", 203, 131, (x, y) => [
    (x * 255) / 202,
    ((x * y) >> 4) & 255,
    (x - 100) ** 2 + (y - 60) ** 2 < 45 ** 2 ? 230 : 40 + noise(),
  ]);
}

const ansel = (...args) => execFileSync(cli, args, { stdio: ["ignore", "pipe", "pipe"] }).toString();

// The CLI's decode of a stream, as RGBA.
function cliDecode(stream) {
  const out = stream.replace(/\.ansel$/, "") + `.cli-${path.basename(stream)}.png`;
  ansel("decode", stream, "-o", out, "--force");
  return PNG.sync.read(fs.readFileSync(out));
}

// Positions where the RGB samples of two RGBA images differ.
function rgbDifferences(a, b) {
  assert.equal(a.length, b.length, "same pixel count");
  let differ = 0;
  for (let i = 0; i < a.length; i++) if (i % 4 !== 3 && a[i] !== b[i]) differ++;
  return differ;
}

// ---- the page -----------------------------------------------------------------------------

// Runs `action` and waits for the page's job to finish; its state and the error shown.
async function job(action) {
  const run = Number(await page.getAttribute("body", "data-run"));
  await action();
  await page.waitForFunction((n) => Number(document.body.dataset.run) > n, run, { timeout: 300_000 });
  return page.evaluate(() => ({
    state: document.body.dataset.state,
    error: document.getElementById("error").hidden ? null : document.getElementById("error").textContent,
  }));
}

const open = (path) => job(() => page.setInputFiles("#file", path));

// Bytes of the last result: `stream`, `decoded` or `original` (an ImageData's RGBA).
async function lastBytes(what) {
  const base64 = await page.evaluate((what) => {
    const value = window.anselPage.last[what];
    const bytes = value instanceof Uint8Array ? value : new Uint8Array(value.data.buffer);
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
  }, what);
  return Buffer.from(base64, "base64");
}

before(async () => {
  assert.ok(cli, "no ansel CLI: build it (cargo build --features cli) or set ANSEL_CLI");
  assert.ok(
    fs.existsSync(path.join(web, "pkg", "ansel_web_bg.wasm")),
    "no web/pkg: run web/build.sh first",
  );
  fs.mkdirSync(artifacts, { recursive: true });
  // Any static server does; this is the one web/serve.sh uses, on a free port of 127.0.0.1.
  server = spawn("python3", ["-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", web, "0"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  const port = await new Promise((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (chunk) => {
      out += chunk;
      const found = out.match(/port (\d+)/);
      if (found) resolve(Number(found[1]));
    });
    server.on("exit", (code) => reject(new Error(`the static server exited (${code})`)));
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // Root needs --no-sandbox; the rest keep a machine without network quiet. Playwright
    // starts each browser with a fresh profile of its own.
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
  context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && pageErrors.push(m.text()));
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => document.body.dataset.state !== "loading" && document.body.dataset.state !== "busy", null, {
    timeout: 120_000,
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("the page loads the codec and its model", async () => {
  assert.equal(await page.getAttribute("body", "data-state"), "ready");
  const info = await page.evaluate(() => window.anselPage.info);
  assert.match(info.model, /^arch \d+, hash [0-9a-f]{32}$/);
  assert.ok(info.wasmBytes > 1e6, `the wasm module with its model: ${info.wasmBytes} bytes`);
  console.log(`model ${info.model}; wasm ${info.wasmBytes} bytes; loaded in ${info.loadMs.toFixed(0)} ms`);
});

test("streams made by the CLI decode in the page to the CLI's pixels", async () => {
  const model = (await page.evaluate(() => window.anselPage.info)).model;
  const inputs = [
    [path.join(root, "assets", "sample.png"), 3],
    [generatedImage(), 5.5],
    [generatedImage(), 1],
  ];
  for (const [index, [png, quality]] of inputs.entries()) {
    const stream = file(`cli-${index}.ansel`);
    ansel("encode", png, "-o", stream, "-q", String(quality), "--force");
    const reference = cliDecode(stream);
    const { state, error } = await open(stream);
    assert.equal(state, "done", error);
    const last = await page.evaluate(() => {
      const { width, height, quality, model, bytes } = window.anselPage.last;
      return { width, height, quality, model, bytes };
    });
    assert.deepEqual(last, {
      width: reference.width,
      height: reference.height,
      quality,
      model,
      bytes: fs.statSync(stream).size,
    });
    assert.equal(rgbDifferences(await lastBytes("decoded"), reference.data), 0, `${png} at quality ${quality}`);
  }
});

test("a stream made in the page is the CLI's stream and the CLI decodes it to the page's pixels", async () => {
  const png = generatedImage();
  await page.locator("#quality").fill("3.5");
  const { state, error } = await open(png);
  assert.equal(state, "done", error);
  const input = PNG.sync.read(fs.readFileSync(png));
  assert.equal(rgbDifferences(await lastBytes("original"), input.data), 0, "the page read the PNG's own pixels");
  const stream = await lastBytes("stream");
  fs.writeFileSync(file("page.ansel"), stream);
  const decodedByCli = cliDecode(file("page.ansel"));
  assert.equal(rgbDifferences(await lastBytes("decoded"), decodedByCli.data), 0);
  ansel("encode", png, "-o", file("native.ansel"), "-q", "3.5", "--force");
  assert.ok(stream.equals(fs.readFileSync(file("native.ansel"))), "the page's stream is byte for byte the CLI's");
  // The browser's encoders at the same size, decoded and measured.
  const comparisons = await page.evaluate(() =>
    window.anselPage.last.comparisons.map(({ name, bytes, fits, psnr }) => ({ name, bytes, fits, psnr })),
  );
  assert.deepEqual(comparisons.map((c) => c.name), ["WebP", "JPEG"]);
  for (const c of comparisons) {
    assert.ok(c.psnr > 10 && c.psnr < 99, `${c.name} PSNR ${c.psnr}`);
    if (c.fits) assert.ok(c.bytes <= stream.length, `${c.name}: ${c.bytes} bytes`);
  }
});

test("bad input shows an error on the page, which stays usable", async () => {
  const good = file("cli-0.ansel");
  const bytes = fs.readFileSync(good);
  const damaged = Buffer.from(bytes);
  damaged[Math.floor(bytes.length / 2)] ^= 0x40;
  fs.writeFileSync(file("damaged.ansel"), damaged);
  fs.writeFileSync(file("truncated.ansel"), bytes.subarray(0, bytes.length - 100));
  fs.writeFileSync(file("not-an-image.png"), "this is text, not a PNG");
  const huge = writePng("huge.png", 16_385, 2, (x) => [x & 255, 0, 0]);
  const cases = [
    [file("damaged.ansel"), /checksum|corrupt/i],
    [file("truncated.ansel"), /truncated|length|bytes/i],
    [file("not-an-image.png"), /not an image/],
    [huge, /16385|16,385|16384|16,384/],
  ];
  for (const [input, expected] of cases) {
    const { state, error } = await open(input);
    assert.equal(state, "error", `${input} should fail`);
    assert.match(error, expected);
    console.log(`${path.basename(input)}: ${error}`);
  }
  const { state, error } = await open(good);
  assert.equal(state, "done", error);
  assert.deepEqual(pageErrors, []);
});

test("the page works offline once loaded, and a screenshot shows an encode", async () => {
  await context.setOffline(true);
  await page.locator("#quality").fill("3");
  const { state, error } = await open(path.join(root, "assets", "sample.png"));
  assert.equal(state, "done", error);
  const shot = path.join(artifacts, "page.png");
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(fs.statSync(shot).size > 10_000);
  console.log(`screenshot: ${shot}`);
});

test("timing of one image in the page (ANSEL_WEB_TIMING)", { skip: !process.env.ANSEL_WEB_TIMING }, async () => {
  const image = process.env.ANSEL_WEB_TIMING;
  const quality = process.env.ANSEL_WEB_TIMING_QUALITY || "3";
  await page.locator("#quality").fill(quality);
  for (let round = 1; round <= 3; round++) {
    const { state, error } = await open(image);
    assert.equal(state, "done", error);
    const t = await page.evaluate(() => {
      const { encodeMs, decodeMs, stream, width, height } = window.anselPage.last;
      return { encodeMs, decodeMs, bytes: stream.length, width, height };
    });
    console.log(
      `${path.basename(image)} ${t.width}×${t.height} q${quality} round ${round}: ` +
        `encode ${t.encodeMs.toFixed(0)} ms, decode ${t.decodeMs.toFixed(0)} ms, ${t.bytes} bytes`,
    );
  }
  const stream = await lastBytes("stream");
  fs.writeFileSync(file("timing.ansel"), stream);
  for (let round = 1; round <= 3; round++) {
    const { state } = await open(file("timing.ansel"));
    assert.equal(state, "done");
    const ms = await page.evaluate(() => window.anselPage.last.decodeMs);
    console.log(`decode of the .ansel file, round ${round}: ${ms.toFixed(0)} ms`);
  }
});
