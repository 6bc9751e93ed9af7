// endcap's console: what each operation answers for a shopper, and the server's request rate and
// latency. No build step and no libraries: it calls the same JSON endpoints as any device
// (PROTOCOL.md) and reads /metrics. Everything the server sends is set as text, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const POLL_MS = 2000;
const POINTS = 90;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

async function call(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let r, text;
  try {
    r = await fetch(path, init);
    text = await r.text();
  } catch (e) {
    return { error: { code: "UNREACHABLE", message: "the server did not answer: " + e } };
  }
  try {
    return JSON.parse(text);
  } catch (_) {
    return { error: { code: "HTTP " + r.status, message: text.slice(0, 200) } };
  }
}

function ago(seconds) {
  if (!isFinite(seconds)) return "";
  const units = [["d", 86400], ["h", 3600], ["min", 60]];
  for (const [u, s] of units) if (seconds >= s) return Math.floor(seconds / s) + " " + u;
  return Math.floor(seconds) + " s";
}

// The shopper form <-> the page's address, so a view can be shared as a link.
function readForm() {
  const basket = $("basket").value.split(/[\s,]+/).filter(Boolean).slice(0, 200);
  return {
    customer: $("customer").value.trim(),
    zone: $("zone").value,
    aisle: $("aisle").value,
    basket,
    product: $("product").value.trim() || basket[0] || "",
    k: Math.max(1, Math.min(50, parseInt($("k").value, 10) || 5)),
  };
}

function fillForm(params) {
  for (const key of ["customer", "basket", "product", "k"]) if (params.has(key)) $(key).value = params.get(key);
}

function selectValue(id, value) {
  if (!value) return;
  const select = $(id);
  if (![...select.options].some((o) => o.value === value)) select.append(new Option(value, value));
  select.value = value;
}

async function loadStore(params) {
  const store = await call("GET", "/v1/store");
  const zones = $("zones");
  zones.replaceChildren();
  if (store.error) {
    zones.append(el("li", store.error.code + ": " + store.error.message, "error"));
    store.zones = store.aisles = [];
  }
  for (const z of store.zones || []) {
    $("zone").append(new Option(z.name, z.name));
    const li = el("li");
    li.append(el("b", z.name), el("span", ": " + (z.aisles || []).join(", ")));
    zones.append(li);
  }
  for (const a of store.aisles || []) $("aisle").append(new Option(a, a));
  selectValue("zone", params.get("zone"));
  selectValue("aisle", params.get("aisle"));
}

async function loadModel() {
  const m = await call("GET", "/v1/model");
  $("model").textContent = m.error ? "no model: " + m.error.message : "model " + m.model_version;
  $("model").title = m.error ? "" : `${m.products} products, ${m.customers} customers, ${m.index}`;
}

function render(id, answer, note) {
  const table = $(id).querySelector("table");
  table.replaceChildren();
  if (note) {
    table.append(el("tr")).lastChild.append(el("td", note, "note"));
    return;
  }
  if (answer.error) {
    table.append(el("tr")).lastChild.append(el("td", answer.error.code + ": " + answer.error.message, "error"));
    return;
  }
  (answer.items || []).forEach((item, i) => {
    const tr = el("tr");
    tr.className = "item";
    const reason = item.reason + (item.because ? " (" + item.because + ")" : "");
    const score = typeof item.score === "number" ? item.score.toFixed(3) : "";
    tr.append(el("td", i + 1), el("td", item.product_id, "pid"), el("td", item.name || ""), el("td", item.aisle || ""),
      el("td", score, "score"), el("td", reason, "reason"));
    table.append(tr);
  });
  if (!table.rows.length) table.append(el("tr")).lastChild.append(el("td", "(no items)", "note"));
}

async function ask() {
  const s = readForm();
  const url = new URL(location.href);
  for (const [key, value] of Object.entries({ ...s, basket: s.basket.join(",") })) {
    if (value === "" || (key === "product" && value === s.basket[0])) url.searchParams.delete(key);
    else url.searchParams.set(key, value);
  }
  history.replaceState(null, "", url);
  const who = s.customer ? { customer: s.customer } : {};
  const where = { ...(s.zone && { zone: s.zone }), ...(s.aisle && { aisle: s.aisle }) };
  const basket = s.basket.length ? { basket: s.basket } : {};
  const needBasket = "needs a basket";
  const [rec, comp, sim, rer] = await Promise.all([
    call("POST", "/v1/recommend", { ...who, ...where, ...basket, k: s.k }),
    s.basket.length ? call("POST", "/v1/complete", { ...who, ...basket, k: s.k }) : null,
    s.product ? call("POST", "/v1/similar", { product: s.product, k: s.k }) : null,
    s.basket.length ? call("POST", "/v1/rerank", { ...who, products: s.basket }) : null,
  ]);
  render("recommend", rec);
  render("complete", comp, comp ? "" : needBasket);
  render("similar", sim, sim ? "" : "needs a product or a basket");
  render("rerank", rer, rer ? "" : needBasket);
}

// Live charts from /metrics: the request counters' rate, and p50/p99 of the arrival-to-answer
// histogram over each interval (interpolated within buckets, as Prometheus does).
function parseMetrics(text) {
  let requests = 0, age = NaN;
  const buckets = new Map();
  for (const line of text.split("\n")) {
    if (line.startsWith("endcap_requests_total{")) requests += parseFloat(line.slice(line.lastIndexOf(" ")));
    else if (line.startsWith("endcap_model_age_seconds ")) age = parseFloat(line.slice(line.lastIndexOf(" ")));
    else if (line.startsWith("endcap_request_total_duration_seconds_bucket{")) {
      const le = /le="([^"]+)"/.exec(line);
      if (!le) continue;
      const bound = le[1] === "+Inf" ? Infinity : parseFloat(le[1]);
      buckets.set(bound, (buckets.get(bound) || 0) + parseFloat(line.slice(line.lastIndexOf(" "))));
    }
  }
  return { requests, age, buckets };
}

function quantile(q, now, before) {
  const bounds = [...now.keys()].sort((a, b) => a - b);
  const total = (now.get(Infinity) || 0) - ((before && before.get(Infinity)) || 0);
  if (total <= 0) return null;
  let lower = 0, below = 0;
  for (const b of bounds) {
    const count = now.get(b) - ((before && before.get(b)) || 0);
    if (count >= q * total) {
      if (b === Infinity) return lower;
      return lower + (b - lower) * ((q * total - below) / Math.max(count - below, 1e-9));
    }
    lower = b;
    below = count;
  }
  return lower;
}

const series = { rate: [], p50: [], p99: [] };
let last = null;

function draw(canvas, lines, colors) {
  const ctx = canvas.getContext("2d");
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  const values = lines.flat().filter((v) => v !== null);
  const max = Math.max(1, ...values) * 1.1;
  ctx.fillStyle = "#667";
  ctx.font = "11px system-ui";
  ctx.fillText(max.toFixed(max < 10 ? 1 : 0), 4, 12);
  ctx.fillText("0", 4, h - 4);
  lines.forEach((points, i) => {
    ctx.strokeStyle = colors[i];
    ctx.lineWidth = 2;
    ctx.beginPath();
    let pen = false;
    points.forEach((v, x) => {
      if (v === null) { pen = false; return; }
      const px = (x / (POINTS - 1)) * w, py = h - (v / max) * (h - 16);
      if (pen) ctx.lineTo(px, py); else ctx.moveTo(px, py);
      pen = true;
    });
    ctx.stroke();
  });
}

async function poll() {
  try {
    const r = await fetch("/metrics");
    if (!r.ok) throw new Error("/metrics answered " + r.status);
    const m = parseMetrics(await r.text());
    const t = performance.now();
    if (last) {
      const dt = (t - last.t) / 1000;
      series.rate.push(Math.max(0, (m.requests - last.m.requests) / dt));
      for (const [name, q] of [["p50", 0.5], ["p99", 0.99]]) {
        const v = quantile(q, m.buckets, last.m.buckets);
        series[name].push(v === null ? null : v * 1e6);
      }
      for (const s of Object.values(series)) while (s.length > POINTS) s.shift();
      const us = (v) => (v === null || v === undefined ? "-" : Math.round(v) + " µs");
      $("rate-now").textContent = Math.round(series.rate.at(-1)) + "/s";
      $("latency-now").textContent = "now " + us(series.p50.at(-1)) + ", " + us(series.p99.at(-1));
      draw($("rate"), [series.rate], ["#1d2330"]);
      draw($("latency"), [series.p50, series.p99], ["#3056a8", "#c2410c"]);
    }
    last = { t, m };
    // The age is 0 until a model is served.
    $("age").textContent = isFinite(m.age) && m.age > 0 ? "trained " + ago(m.age) + " ago" : "";
    $("status").textContent = "";
    $("status").className = "";
  } catch (e) {
    $("status").textContent = "metrics unavailable: " + e.message;
    $("status").className = "bad";
  }
}

// One poll at a time: a slow answer is not overtaken by the next.
async function pollForever() {
  await poll();
  setTimeout(pollForever, POLL_MS);
}

async function main() {
  const params = new URLSearchParams(location.search);
  fillForm(params);
  $("shopper").addEventListener("submit", (e) => { e.preventDefault(); ask(); });
  await Promise.all([loadModel(), loadStore(params)]);
  await ask();
  document.body.dataset.ready = "1";
  pollForever();
  setInterval(loadModel, 10 * POLL_MS);
}

main();
