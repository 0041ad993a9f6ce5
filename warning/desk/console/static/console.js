// 值班台前端: 订阅 /api/stream (server-sent events), 按预警编号合并显示, 签收/化解调用 POST 接口。
"use strict";
let LABELS = { levels: {}, states: {}, kinds: {}, types: {}, outcomes: {} };
const cards = new Map();

function text(el, sel, value) { el.querySelector(sel).textContent = value; }

function render(entry) {
  let card = cards.get(entry.alert_id);
  if (!card) {
    card = document.getElementById("alert-card").content.firstElementChild.cloneNode(true);
    card.dataset.alertId = entry.alert_id;
    const select = card.querySelector(".outcome");
    for (const [code, label] of Object.entries(LABELS.outcomes)) {
      const opt = document.createElement("option");
      opt.value = code; opt.textContent = label; select.appendChild(opt);
    }
    select.value = "resolved_by_mediation";
    card.querySelector(".ack").addEventListener("click", () => act(entry.alert_id, "ack"));
    card.querySelector(".resolve").addEventListener("click", () => act(entry.alert_id, "resolve"));
    card.querySelector(".details").addEventListener("click", () => details(entry.alert_id));
    card.querySelector(".history").addEventListener("click", () => history(entry.alert_id));
    cards.set(entry.alert_id, card);
  }
  const a = entry.alert;
  card.className = "alert " + entry.level;
  card.dataset.state = entry.state;
  text(card, ".level", "【" + (LABELS.levels[entry.level] || entry.level) + "】");
  text(card, ".kind", "[" + (LABELS.kinds[entry.kind] || entry.kind) + "] ");
  text(card, ".title", entry.title);
  text(card, ".unit", entry.unit);
  text(card, ".type", (LABELS.types[a.type] || a.type) + " " + (a.category_label || ""));
  text(card, ".state", LABELS.states[entry.state] || entry.state);
  text(card, ".count", String(entry.count));
  text(card, ".evidence", (a.evidence || []).length + " 条事件");
  text(card, ".action", a.action || "—");
  text(card, ".alert-id", entry.alert_id);
  const tbody = card.querySelector(".indicators tbody");
  tbody.textContent = "";
  for (const i of a.indicators || []) {
    const tr = document.createElement("tr");
    for (const v of [i.label || i.name, i.value, i.threshold, Number(i.contribution).toFixed(2)]) {
      const td = document.createElement("td"); td.textContent = String(v); tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }
  card.querySelector(".details").hidden = !a.has_details;
  const list = document.getElementById("alerts");
  list.prepend(card);  // newest (or just upgraded) on top
  document.getElementById("empty").hidden = true;
}

function setState(alertId, state) {
  const card = cards.get(alertId);
  if (!card) return;
  card.dataset.state = state;
  text(card, ".state", LABELS.states[state] || state);
}

async function act(alertId, path) {
  const card = cards.get(alertId);
  const body = { note: card.querySelector(".note").value };
  if (path === "resolve") body.outcome = card.querySelector(".outcome").value;
  const resp = await fetch(`/api/alerts/${encodeURIComponent(alertId)}/${path}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const data = await resp.json();
  if (resp.ok) { setState(alertId, data.state); text(card, ".message", ""); }
  else { text(card, ".message", data.error || ("操作失败 " + resp.status)); }
}

function listItems(ul, items) {
  ul.textContent = "";
  for (const item of items) { const li = document.createElement("li"); li.textContent = item; ul.appendChild(li); }
}

async function history(alertId) {
  const card = cards.get(alertId);
  const resp = await fetch(`/api/alerts/${encodeURIComponent(alertId)}`);
  if (!resp.ok) { text(card, ".message", "无权查看"); return; }
  const rec = await resp.json();
  listItems(card.querySelector(".evidence-list"), (rec.alert.evidence || []).map((id) => "事件 " + id));
  listItems(card.querySelector(".audit-list"), rec.audit.map((e) =>
    [e.at, e.actor, e.action, LABELS.states[e.to] || e.to, LABELS.outcomes[e.outcome] || "", e.note]
      .filter(Boolean).join(" · ")));
  card.querySelector(".history-box").hidden = false;
}

async function details(alertId) {
  const card = cards.get(alertId);
  const resp = await fetch(`/api/alerts/${encodeURIComponent(alertId)}/details`);
  const box = card.querySelector(".details-box");
  box.textContent = resp.ok ? JSON.stringify(await resp.json(), null, 2) : "无权查看";
  box.hidden = false;
}

const SUMMARY_STATES = ["new", "acknowledged", "in_handling", "escalated", "resolved"];

async function summary() {
  const resp = await fetch("/api/summary");
  if (!resp.ok) return;
  const counts = (await resp.json()).counts;
  const tbody = document.querySelector("#summary tbody");
  tbody.textContent = "";
  for (const level of ["red", "orange", "yellow", "blue"]) {
    const tr = document.createElement("tr"); tr.className = level;
    const th = document.createElement("th"); th.textContent = LABELS.levels[level] || level; tr.appendChild(th);
    for (const state of SUMMARY_STATES) {
      const td = document.createElement("td"); td.textContent = String((counts[level] || {})[state] || 0); tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }
}

function fillFilters() {
  const form = document.getElementById("filters");
  for (const [name, labels] of [["type", LABELS.types], ["level", LABELS.levels], ["state", LABELS.states]]) {
    for (const [code, label] of Object.entries(labels)) {
      const opt = document.createElement("option"); opt.value = code; opt.textContent = label;
      form.elements[name].appendChild(opt);
    }
  }
}

async function search(params) {
  const resp = await fetch("/api/alerts?" + new URLSearchParams(params));
  const list = document.getElementById("alerts");
  list.textContent = ""; cards.clear();
  if (!resp.ok) { list.textContent = "查询失败: " + (await resp.text()); return; }
  const rows = (await resp.json()).alerts;
  for (const rec of rows.reverse()) render({ ...rec, kind: "new", title: rec.alert.title });
  document.getElementById("empty").hidden = rows.length > 0;
}

function formParams(form) {
  const params = {};
  for (const [k, v] of new FormData(form)) if (v) params[k] = k === "since" ? new Date(v).toISOString() : v;
  return params;
}

async function main() {
  const resp = await fetch("/api/me");
  if (!resp.ok) { location.href = "/login"; return; }
  const me = await resp.json();
  LABELS = me.labels;
  document.getElementById("whoami").textContent = `${me.name} · ${me.unit}`;
  fillFilters();
  summary(); setInterval(summary, 10000);
  const form = document.getElementById("filters");
  form.addEventListener("submit", (ev) => { ev.preventDefault(); search(formParams(form)); });
  document.getElementById("quick-red").addEventListener("click", () => {
    form.elements.level.value = "red"; form.elements.state.value = "new"; search(formParams(form));
  });
  document.getElementById("live").addEventListener("click", () => location.reload());
  const conn = document.getElementById("conn");
  const source = new EventSource("/api/stream");
  source.addEventListener("open", () => { conn.textContent = "实时连接正常"; conn.className = "conn ok"; });
  source.addEventListener("error", () => { conn.textContent = "连接中断,正在重连…"; conn.className = "conn bad"; });
  source.addEventListener("alert", (ev) => { render(JSON.parse(ev.data)); summary(); });
  source.addEventListener("logout", () => { source.close(); location.href = "/login"; });
}
main();
