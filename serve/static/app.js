// gogan serve's page: plain JavaScript, no framework. It asks GET info what
// the server runs, then shows a drawing canvas (image-to-image models) or a
// sample grid (DCGAN). Element states for scripts and tests live in data-*
// attributes: body[data-state] is loading | ready | error; the output image's
// data-state is empty | pending | ok | error, data-seq counts the outputs
// shown and data-digest is a hash of the last PNG's bytes.
"use strict";

const $ = (id) => document.getElementById(id);

function fnv1a(bytes) {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

// serverTiming reads the Server-Timing header into {name: ms}.
function serverTiming(resp) {
  const out = {};
  for (const part of (resp.headers.get("Server-Timing") || "").split(",")) {
    const m = part.trim().match(/^([a-z]+);dur=([0-9.]+)/);
    if (m) out[m[1]] = parseFloat(m[2]);
  }
  return out;
}

// fetchPNG fetches an image and returns {blob, bytes, timing, batch}, or
// throws the server's message.
async function fetchPNG(url, init) {
  const resp = await fetch(url, init);
  if (!resp.ok) {
    const text = (await resp.text()).trim();
    throw new Error(`${resp.status} ${resp.statusText}: ${text}`);
  }
  const buf = new Uint8Array(await resp.arrayBuffer());
  return {
    blob: new Blob([buf], { type: "image/png" }),
    bytes: buf,
    timing: serverTiming(resp),
    batch: resp.headers.get("X-Gogan-Batch") || "?",
  };
}

// showPNG puts a fetched PNG into an <img> (and a download link) and
// resolves once the image has decoded.
function showPNG(img, link, png) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(png.blob);
    img.onload = () => {
      img.dataset.state = "ok";
      img.dataset.seq = String(parseInt(img.dataset.seq || "0", 10) + 1);
      img.dataset.digest = fnv1a(png.bytes);
      resolve();
    };
    img.onerror = () => {
      img.dataset.state = "error";
      reject(new Error("the browser could not decode the PNG"));
    };
    const old = img.src;
    img.src = url;
    if (link) {
      link.href = url;
      link.removeAttribute("aria-disabled");
    }
    if (old && old.startsWith("blob:")) setTimeout(() => URL.revokeObjectURL(old), 1000);
  });
}

function setStatus(el, text, isError) {
  el.textContent = text;
  el.classList.toggle("error", !!isError);
}

async function main() {
  let info;
  try {
    const resp = await fetch("info");
    if (!resp.ok) throw new Error(`${resp.status}: ${(await resp.text()).trim()}`);
    info = await resp.json();
  } catch (e) {
    setStatus($("model"), `cannot reach the server: ${e.message}`, true);
    document.body.dataset.state = "error";
    return;
  }
  const mode = info.mode === "eval" ? "eval mode" : "train mode (batch statistics, dropout on)";
  const dir = info.direction ? ` ${info.direction}` : "";
  const classes = info.classes > 0 ? ` · ${info.classes} classes` : "";
  $("model").textContent = `${info.recipe}${dir} · ${info.netG} · ${info.size}×${info.size}${classes} · ${mode} · on ${info.device} · ` +
    `checkpoint step ${info.step} (${info.checkpoint})`;
  if (info.kind === "translate") {
    setupTranslate(info);
  } else {
    setupGenerate(info);
  }
  document.body.dataset.state = "ready";
}

// ---- image to image ------------------------------------------------------

function setupTranslate(info) {
  $("translate-view").hidden = false;
  const canvas = $("input");
  canvas.width = canvas.height = info.size;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingEnabled = true;
  const labels = info.input === "labels";
  const kindText = { labels: "label map: pick a label colour", sketch: "sketch: draw the edges", image: "image: upload one, or paint on it" };
  $("input-kind").textContent = `(${kindText[info.input] || info.input})`;
  const src = $("palette-source");
  src.textContent = `Colours: ${info.palette_source}.`;
  src.classList.toggle("warn", info.palette_source.startsWith("default"));

  const state = {
    tool: labels ? "rect" : "pen",
    colour: info.pen,
    size: Math.max(1, Math.round(info.size / (labels ? 16 : info.input === "sketch" ? 128 : 64))),
    drawing: false,
    last: null,
    snapshot: null,
    undo: [],
  };
  if (!labels) {
    // rectangles and fills make sense for label maps only
    for (const b of document.querySelectorAll('#tools [data-tool="rect"], #tools [data-tool="fill"]')) b.hidden = true;
  }

  // palette
  const pal = $("palette");
  for (const c of info.palette) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "swatch";
    b.style.background = c.hex;
    b.dataset.colour = c.hex;
    b.title = c.share ? `${c.hex}: ${(c.share * 100).toFixed(1)}% of the training inputs` : c.hex;
    b.setAttribute("role", "radio");
    b.onclick = () => { state.colour = c.hex; if (state.tool === "eraser") state.tool = labels ? "rect" : "pen"; refreshTools(); };
    pal.appendChild(b);
  }

  const size = $("size");
  size.max = String(Math.max(8, Math.round(info.size / 4)));
  size.value = String(state.size);
  $("size-value").textContent = size.value;
  size.oninput = () => { state.size = parseInt(size.value, 10); $("size-value").textContent = size.value; };

  function refreshTools() {
    for (const b of document.querySelectorAll("#tools [data-tool]")) b.classList.toggle("active", b.dataset.tool === state.tool);
    for (const b of pal.children) {
      const on = state.tool !== "eraser" && b.dataset.colour === state.colour;
      b.classList.toggle("active", on);
      b.setAttribute("aria-checked", on ? "true" : "false");
    }
  }
  for (const b of document.querySelectorAll("#tools [data-tool]")) b.onclick = () => { state.tool = b.dataset.tool; refreshTools(); };
  refreshTools();

  function clear() {
    ctx.fillStyle = info.background;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  }
  function pushUndo() {
    state.undo.push(ctx.getImageData(0, 0, canvas.width, canvas.height));
    if (state.undo.length > 30) state.undo.shift();
  }
  clear();

  // Pointer position in the canvas's own pixels (it is shown scaled).
  function pos(e) {
    const r = canvas.getBoundingClientRect();
    return { x: (e.clientX - r.left) * canvas.width / r.width, y: (e.clientY - r.top) * canvas.height / r.height };
  }
  const colourNow = () => (state.tool === "eraser" ? info.background : state.colour);

  // Label maps are drawn without anti-aliasing (square stamps, whole-pixel
  // rectangles) so that every pixel has one of the label colours, and so are
  // small inputs (crisp one-pixel edges, as edge detectors draw them);
  // larger sketches and images get round, smooth strokes.
  const crisp = labels || info.size <= 64;
  function stamp(p) {
    const s = state.size;
    ctx.fillRect(Math.round(p.x - s / 2), Math.round(p.y - s / 2), s, s);
  }
  function segment(a, b) {
    ctx.fillStyle = ctx.strokeStyle = colourNow();
    if (crisp) {
      const n = Math.max(1, Math.ceil(Math.hypot(b.x - a.x, b.y - a.y)));
      for (let i = 0; i <= n; i++) stamp({ x: a.x + (b.x - a.x) * i / n, y: a.y + (b.y - a.y) * i / n });
      return;
    }
    ctx.lineWidth = state.size;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x + 0.01, b.y);
    ctx.stroke();
  }
  function rect(a, b) {
    ctx.putImageData(state.snapshot, 0, 0);
    ctx.fillStyle = colourNow();
    const x0 = Math.floor(Math.min(a.x, b.x)), y0 = Math.floor(Math.min(a.y, b.y));
    const x1 = Math.ceil(Math.max(a.x, b.x)), y1 = Math.ceil(Math.max(a.y, b.y));
    ctx.fillRect(x0, y0, Math.max(1, x1 - x0), Math.max(1, y1 - y0));
  }
  function hexRGB(hex) {
    const v = parseInt(hex.slice(1), 16);
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  }
  function fill(p) {
    const w = canvas.width, h = canvas.height;
    const x0 = Math.floor(p.x), y0 = Math.floor(p.y);
    if (x0 < 0 || y0 < 0 || x0 >= w || y0 >= h) return;
    const im = ctx.getImageData(0, 0, w, h), d = im.data;
    const at = (x, y) => (y * w + x) * 4;
    const t = at(x0, y0), target = [d[t], d[t + 1], d[t + 2]];
    const rgb = hexRGB(colourNow());
    // Pixels close to the clicked colour (JPEG noise in an uploaded label map) are filled.
    const near = (i) => Math.abs(d[i] - target[0]) + Math.abs(d[i + 1] - target[1]) + Math.abs(d[i + 2] - target[2]) <= 48;
    if (Math.abs(rgb[0] - target[0]) + Math.abs(rgb[1] - target[1]) + Math.abs(rgb[2] - target[2]) === 0) return;
    const seen = new Uint8Array(w * h);
    const stack = [x0 + y0 * w];
    seen[x0 + y0 * w] = 1;
    while (stack.length) {
      const k = stack.pop(), x = k % w, y = (k - x) / w, i = k * 4;
      d[i] = rgb[0]; d[i + 1] = rgb[1]; d[i + 2] = rgb[2]; d[i + 3] = 255;
      for (const [nx, ny] of [[x + 1, y], [x - 1, y], [x, y + 1], [x, y - 1]]) {
        if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
        const nk = nx + ny * w;
        if (!seen[nk] && near(nk * 4)) { seen[nk] = 1; stack.push(nk); }
      }
    }
    ctx.putImageData(im, 0, 0);
  }

  canvas.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    pushUndo();
    const p = pos(e);
    if (state.tool === "fill") {
      fill(p);
      changed(true);
      return;
    }
    state.drawing = true;
    state.last = state.start = p;
    if (state.tool === "rect") {
      state.snapshot = ctx.getImageData(0, 0, canvas.width, canvas.height);
      rect(p, p);
    } else {
      segment(p, p);
    }
    changed(false);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!state.drawing) return;
    const p = pos(e);
    if (state.tool === "rect") rect(state.start, p);
    else segment(state.last, p);
    state.last = p;
    changed(false);
  });
  const end = (e) => {
    if (!state.drawing) return;
    state.drawing = false;
    state.snapshot = null;
    changed(true);
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  // ---- sending: one request in flight; debounced while drawing ----------
  const out = $("output"), status = $("status"), live = $("live");
  let inFlight = false, again = false, timer = null, lastSent = 0;
  // changed is called on every edit: the drawing is sent 250 ms after the
  // last one, and every 800 ms during a long stroke.
  function changed(done) {
    if (!live.checked) return;
    clearTimeout(timer);
    if (!done && performance.now() - lastSent > 800) {
      send();
      return;
    }
    timer = setTimeout(send, 250);
  }
  async function send() {
    clearTimeout(timer);
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    lastSent = performance.now();
    out.dataset.state = "pending";
    try {
      const blob = await new Promise((res) => canvas.toBlob(res, "image/png"));
      const t0 = performance.now();
      const png = await fetchPNG("translate", { method: "POST", headers: { "Content-Type": "image/png" }, body: blob });
      await showPNG(out, $("download"), png);
      const ms = Math.round(performance.now() - t0);
      const tm = png.timing;
      setStatus(status, `${out.naturalWidth}×${out.naturalHeight} in ${ms} ms (server: inference ${Math.round(tm.infer || 0)} ms, ` +
        `waiting ${Math.round(tm.queue || 0)} ms, batch of ${png.batch})`);
    } catch (e) {
      out.dataset.state = "error";
      setStatus(status, e.message, true);
    } finally {
      inFlight = false;
      if (again) {
        again = false;
        send();
      }
    }
  }
  $("run").onclick = send;
  live.onchange = () => { if (live.checked) send(); };
  $("clear").onclick = () => { pushUndo(); clear(); changed(true); };
  $("undo").onclick = () => {
    const im = state.undo.pop();
    if (im) { ctx.putImageData(im, 0, 0); changed(true); }
  };
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT") return;
    const k = e.key.toLowerCase(); // Caps Lock or Shift: the same letter
    if ((e.ctrlKey || e.metaKey) && !e.shiftKey && !e.altKey && k === "z") { $("undo").click(); e.preventDefault(); return; }
    if (e.ctrlKey || e.metaKey || e.altKey) return; // the browser's shortcuts (Ctrl+F: find, Ctrl+P: print) are not the tools'
    const t = { p: "pen", r: "rect", f: "fill", e: "eraser" }[k];
    if (t && !document.querySelector(`#tools [data-tool="${t}"]`).hidden) { state.tool = t; refreshTools(); }
  });

  // Pictures are stretched to the model's square input, as translate does.
  async function drawPicture(blob) {
    const bmp = await createImageBitmap(blob);
    pushUndo();
    ctx.drawImage(bmp, 0, 0, canvas.width, canvas.height);
    bmp.close();
    send();
  }
  $("upload").onchange = async (e) => {
    const f = e.target.files[0];
    if (!f) return;
    try {
      await drawPicture(f);
    } catch (err) {
      setStatus(status, `${f.name}: not an image the browser can read (${err.message})`, true);
    }
    e.target.value = "";
  };
  if (info.examples > 0) {
    let k = 0;
    const ex = $("example");
    ex.hidden = false;
    ex.onclick = async () => {
      try {
        const png = await fetchPNG(`example?i=${k++}`);
        await drawPicture(png.blob);
      } catch (e) {
        setStatus(status, e.message, true);
      }
    };
  }
  send(); // the blank canvas's output, so that the page shows what the model does
}

// ---- noise to image --------------------------------------------------------

function setupGenerate(info) {
  $("generate-view").hidden = false;
  const grid = $("grid"), status = $("status-gen"), interp = $("interp");
  const n = 16;
  let base = 1 + Math.floor(Math.random() * 1e6);
  let picked = [];
  const scale = Math.max(1, Math.floor(128 / info.size));
  grid.style.setProperty("--cell", `${info.size * scale}px`);
  // A class-conditional generator: every sample of the class picked, or
  // each of its seed's own (seed mod the classes, the server's default).
  const classPick = $("class");
  if (info.classes > 0) {
    const names = info.class_names || [];
    for (let c = 0; c < info.classes; c++) classPick.add(new Option(names[c] ? `${c} ${names[c]}` : `${c}`, `${c}`));
    $("class-box").hidden = false;
  }
  const classParam = () => (classPick.value === "" ? "" : `&class=${classPick.value}`);
  const classOf = (seed) => {
    const c = classPick.value !== "" ? Number(classPick.value) : ((seed % info.classes) + info.classes) % info.classes;
    const name = (info.class_names || [])[c];
    return name ? `${c} (${name})` : String(c);
  };

  let shown = 0; // which loadSamples the grid shows: a replaced grid's late images count for nothing
  function loadSamples() {
    grid.replaceChildren();
    picked = [];
    grid.dataset.loaded = "0";
    let loaded = 0;
    const mine = ++shown;
    for (let i = 0; i < n; i++) {
      const seed = base + i;
      const img = document.createElement("img");
      img.alt = `sample of seed ${seed}`;
      img.title = `seed ${seed}: click to interpolate from or to it`;
      if (info.classes > 0) {
        img.alt += `, class ${classOf(seed)}`;
        img.title = `seed ${seed}, class ${classOf(seed)}: click to interpolate from or to it`;
      }
      img.dataset.seed = String(seed);
      img.dataset.state = "pending";
      img.onload = () => {
        img.dataset.state = "ok";
        if (mine === shown) grid.dataset.loaded = String(++loaded);
      };
      img.onerror = () => {
        img.dataset.state = "error";
        if (mine === shown) setStatus(status, `sample ${seed} failed to load`, true);
      };
      img.src = `sample?seed=${seed}${classParam()}`; // 16 requests at once: the server batches them
      img.onclick = () => pick(img);
      grid.appendChild(img);
    }
  }
  function pick(img) {
    if (picked.length === 2) {
      for (const p of picked) p.classList.remove("picked");
      picked = [];
    }
    picked.push(img);
    img.classList.add("picked");
    if (picked.length === 2) interpolate();
    else setStatus(status, `from seed ${img.dataset.seed}: now click another sample`);
  }
  async function interpolate() {
    const [a, b] = picked.map((p) => p.dataset.seed);
    const steps = Math.min(16, Math.max(2, parseInt($("steps").value, 10) || 8));
    // the class asked for, not the picker's when the answer comes
    const param = classParam(), cls = info.classes > 0 ? `, class ${classOf(Number(a))}` : "";
    interp.dataset.state = "pending";
    try {
      const t0 = performance.now();
      const png = await fetchPNG(`interpolate?a=${a}&b=${b}&steps=${steps}${param}`);
      await showPNG(interp, $("download-interp"), png);
      interp.style.width = `${interp.naturalWidth * scale}px`;
      $("interp-label").textContent = `(seed ${a} → seed ${b}${cls}, ${steps} steps)`;
      setStatus(status, `${steps} images in ${Math.round(performance.now() - t0)} ms (server: inference ${Math.round(png.timing.infer || 0)} ms)`);
    } catch (e) {
      interp.dataset.state = "error";
      setStatus(status, e.message, true);
    }
  }
  $("new-samples").onclick = () => { base += n; loadSamples(); };
  $("steps").onchange = () => { if (picked.length === 2) interpolate(); };
  classPick.onchange = () => loadSamples();
  loadSamples();
}

main();
