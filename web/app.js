// The page: hands files to the worker (worker.js), which runs the codec, and shows what comes
// back. `document.body.dataset.state` is loading, ready, busy, done or error, and
// `dataset.run` counts the jobs, so scripts (the browser test) can wait for a result;
// `window.anselPage.last` holds the last result.

const $ = (id) => document.getElementById(id);
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const pending = new Map();
let nextId = 1;

worker.onmessage = ({ data }) => {
  const request = pending.get(data.id);
  if (!request) return;
  if ("progress" in data) {
    request.onProgress(data.progress);
    return;
  }
  pending.delete(data.id);
  if (data.ok) request.resolve(data.result);
  else request.reject(new Error(data.error));
};
// The worker itself failed (its script or the wasm module did not load): every request fails.
worker.onerror = (event) => {
  event.preventDefault();
  const error = new Error(`the codec could not start: ${event.message || "the worker failed to load"}`);
  for (const request of pending.values()) request.reject(error);
  pending.clear();
  showError(error);
  document.body.dataset.state = "error";
};

// Sends a request to the worker; resolves with its result.
function ask(message, transfer = [], onProgress = () => {}) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, onProgress });
    worker.postMessage({ id, ...message }, transfer);
  });
}

window.anselPage = { last: null, info: null };
let current = null; // the image being shown, re-encoded when the quality changes
let generation = 0; // the newest job; older ones finish unseen

// Runs one job: progress with elapsed time while it runs, its error on the page if it fails.
async function job(label, work) {
  const mine = ++generation;
  const body = document.body;
  body.dataset.state = "busy";
  $("error").hidden = true;
  $("status").hidden = false;
  const start = performance.now();
  let stage = label;
  const tick = () => {
    $("stage").textContent = `${stage}… ${((performance.now() - start) / 1000).toFixed(1)} s`;
  };
  tick();
  const timer = setInterval(tick, 100);
  try {
    await work((s) => {
      if (mine === generation) {
        stage = s;
        tick();
      }
    }, () => mine === generation);
    if (mine === generation) body.dataset.state = "done";
  } catch (e) {
    if (mine === generation) {
      showError(e);
      body.dataset.state = "error";
    }
  } finally {
    clearInterval(timer);
    if (mine === generation) {
      $("status").hidden = true;
      body.dataset.run = String(Number(body.dataset.run) + 1);
    }
  }
}

function showError(e) {
  $("error").textContent = `Error: ${e.message || e}`;
  $("error").hidden = false;
}

const isAnsel = (head) =>
  head.length >= 6 && head[0] === 0x89 && String.fromCharCode(...head.slice(1, 6)) === "ANSEL";

async function openFile(file) {
  const head = new Uint8Array(await file.slice(0, 8).arrayBuffer());
  if (isAnsel(head) || file.name.endsWith(".ansel")) {
    current = null;
    await job(`Decoding ${file.name}`, (progress, latest) => showStream(file, latest));
  } else {
    current = file;
    await encodeCurrent();
  }
}

async function encodeCurrent() {
  const file = current;
  const quality = Number($("quality").value);
  await job(`Encoding ${file.name} at quality ${quality}`, (progress, latest) =>
    showEncode(file, quality, progress, latest),
  );
}

async function showStream(file, latest) {
  const bytes = await file.arrayBuffer();
  const r = await ask({ op: "decode", bytes }, [bytes]);
  if (!latest()) return;
  window.anselPage.last = { kind: "decode", name: file.name, ...r };
  const results = $("results");
  results.replaceChildren(
    card(`${file.name}`, r.decoded, [
      ["size", `${r.width} × ${r.height}`],
      ["bytes", fmtBytes(r.bytes)],
      ["bits per pixel", bpp(r.bytes, r)],
      ["quality", r.quality],
      ["model", r.model],
      ["decode", ms(r.decodeMs)],
    ], pngLink(file.name.replace(/\.ansel$/, "") + ".png")),
  );
}

async function showEncode(file, quality, progress, latest) {
  progress("Reading the image");
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  } catch {
    throw new Error(`${file.name} is not an image this browser can read`);
  }
  const r = await ask({ op: "encode", bitmap, quality }, [bitmap], (s) =>
    progress(`${s[0].toUpperCase()}${s.slice(1)} ${bitmap.width || ""}`.trim()),
  );
  if (!latest()) return;
  const name = file.name.replace(/\.[^.]*$/, "") + ".ansel";
  const download = document.createElement("a");
  download.href = URL.createObjectURL(new Blob([r.stream], { type: "application/octet-stream" }));
  download.download = name;
  download.textContent = `Save ${name}`;
  window.anselPage.last = { kind: "encode", name: file.name, ...r, comparisons: null };
  const others = [placeholder("WebP"), placeholder("JPEG")];
  $("results").replaceChildren(
    card(`Original: ${file.name}`, r.original, [
      ["size", `${r.width} × ${r.height}`],
      ["file", fmtBytes(file.size)],
    ]),
    card("ansel", r.decoded, [
      ["bytes", fmtBytes(r.stream.length)],
      ["bits per pixel", bpp(r.stream.length, r)],
      ["PSNR", db(r.psnr)],
      ["quality", r.quality],
      ["encode", ms(r.encodeMs)],
      ["decode", ms(r.decodeMs)],
    ], download),
    ...others,
  );
  // The browser's own encoders at the same size.
  const comparisons = await ask(
    { op: "compare", original: r.original, targetBytes: r.stream.length },
    [],
    (s) => progress(`The browser's ${s}`),
  );
  if (!latest()) return;
  window.anselPage.last.comparisons = comparisons;
  comparisons.forEach((c, i) => {
    others[i].replaceWith(
      c.unsupported
        ? placeholder(c.name, "this browser cannot write the format")
        : card(`${c.name} (the browser's encoder)`, c.decoded, [
            ["bytes", fmtBytes(c.bytes) + (c.fits ? "" : " (its smallest file)")],
            ["bits per pixel", bpp(c.bytes, r)],
            ["PSNR", db(c.psnr)],
            ["quality", c.quality.toFixed(3)],
          ]),
    );
  });
}

// A figure: the image on a canvas and a list of facts.
function card(title, image, facts, extra) {
  const figure = document.createElement("figure");
  const canvas = document.createElement("canvas");
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext("2d").putImageData(image, 0, 0);
  const caption = document.createElement("figcaption");
  const heading = document.createElement("b");
  heading.textContent = title;
  const list = document.createElement("dl");
  for (const [term, value] of facts) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }
  caption.append(heading, list);
  if (extra) caption.append(extra);
  figure.append(canvas, caption);
  return figure;
}

function placeholder(name, text = "encoding at the same size…") {
  const figure = document.createElement("figure");
  figure.innerHTML = `<figcaption><b></b><dl><dt>status</dt><dd></dd></dl></figcaption>`;
  figure.querySelector("b").textContent = name;
  figure.querySelector("dd").textContent = text;
  return figure;
}

// A link that saves the decoded image (the last card's canvas) as PNG.
function pngLink(name) {
  const link = document.createElement("a");
  link.href = "#";
  link.textContent = `Save ${name}`;
  link.onclick = (event) => {
    event.preventDefault();
    link.closest("figure").querySelector("canvas").toBlob((blob) => {
      const save = document.createElement("a");
      save.href = URL.createObjectURL(blob);
      save.download = name;
      save.click();
    }, "image/png");
  };
  return link;
}

const fmtBytes = (n) => `${n.toLocaleString("en")} B`;
const bpp = (bytes, { width, height }) => ((8 * bytes) / (width * height)).toFixed(3);
const db = (v) => (Number.isFinite(v) ? `${v.toFixed(2)} dB` : "∞ (identical)");
const ms = (v) => `${Math.round(v)} ms`;

// Controls.
const drop = $("drop");
$("file").addEventListener("change", () => {
  const file = $("file").files[0];
  if (file) openFile(file);
  $("file").value = "";
});
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  const file = event.dataTransfer.files[0];
  if (file) openFile(file);
});
$("quality").addEventListener("input", () => ($("quality-value").value = $("quality").value));
$("quality").addEventListener("change", () => current && encodeCurrent());

// Load the codec at once: the page needs nothing from the network after this.
job("Loading the codec", async () => {
  const info = await ask({ op: "ready" });
  window.anselPage.info = info;
  const size = info.wasmBytes
    ? ` · codec and model ${(info.wasmBytes / 1e6).toFixed(1)} MB` +
      (info.wasmTransferred && info.wasmTransferred < info.wasmBytes
        ? ` (${(info.wasmTransferred / 1e6).toFixed(1)} MB transferred)`
        : "")
    : "";
  $("model").textContent = `Model ${info.model}${size} · loaded in ${ms(info.loadMs)}`;
}).then(() => {
  if (document.body.dataset.state === "done") document.body.dataset.state = "ready";
});
