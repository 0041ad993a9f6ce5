// 值班台前端: 订阅 /api/stream (server-sent events), 按预警编号合并显示; 统计表、筛选、搜索、快捷键。
"use strict";
const cards = new Map();
let FILTERING = false;  // a query is shown: live entries only update the cards already listed

function text(node, sel, value) { node.querySelector(sel).textContent = value; }

function newCard(alertId) {
  const card = document.getElementById("alert-card").content.firstElementChild.cloneNode(true);
  card.dataset.alertId = alertId;
  const select = card.querySelector(".outcome");
  fillOptions(select, LABELS.outcomes);
  select.value = "resolved_by_mediation";
  card.querySelector(".open-page").href = "/alert/" + encodeURIComponent(alertId);
  card.querySelector(".ack").addEventListener("click", () => act(alertId, "ack"));
  card.querySelector(".resolve").addEventListener("click", () => act(alertId, "resolve"));
  card.querySelector(".details").addEventListener("click", () => details(alertId));
  card.querySelector(".history").addEventListener("click", () => history(alertId));
  cards.set(alertId, card);
  return card;
}

function render(entry) {
  const card = cards.get(entry.alert_id) || newCard(entry.alert_id);
  const a = entry.alert;
  card.className = "alert " + entry.level;
  card.dataset.state = entry.state;
  card.dataset.level = entry.level;
  text(card, ".level", "【" + (LABELS.levels[entry.level] || entry.level) + "】");
  text(card, ".kind", "[" + (LABELS.kinds[entry.kind] || entry.kind) + "] ");
  text(card, ".title", entry.title);
  text(card, ".unit", unitText(entry.unit_info, entry.unit));
  text(card, ".type", (LABELS.types[a.type] || a.type) + " " + (a.category_label || ""));
  text(card, ".state", LABELS.states[entry.state] || entry.state);
  text(card, ".count", String(entry.count));
  const excerpts = (a.excerpts || []).length;
  text(card, ".evidence", (a.evidence || []).length + " 条事件" + (excerpts ? `(${excerpts} 条有摘要)` : ""));
  text(card, ".action", a.action || "—");
  text(card, ".alert-id", entry.alert_id);
  const tbody = card.querySelector(".indicators tbody");
  tbody.textContent = "";
  for (const i of a.indicators || []) {
    const tr = document.createElement("tr");
    for (const v of [i.label || i.name, i.value, i.threshold, Number(i.contribution).toFixed(2)]) tr.appendChild(el("td", {}, v));
    tbody.appendChild(tr);
  }
  card.querySelector(".details").hidden = !a.has_details;
  document.getElementById("alerts").prepend(card);  // newest (or just upgraded) on top
  document.getElementById("empty").hidden = true;
}

async function act(alertId, path) {
  const card = cards.get(alertId);
  const [ok, data] = await transition(alertId, path, card.querySelector(".note").value, card.querySelector(".outcome").value);
  if (ok) { card.dataset.state = data.state; text(card, ".state", LABELS.states[data.state] || data.state); text(card, ".message", ""); summary(); }
  else text(card, ".message", data);
}

function listItems(ul, items) {
  ul.textContent = "";
  for (const item of items) ul.appendChild(el("li", {}, item));
}

async function history(alertId) {
  const card = cards.get(alertId);
  const resp = await fetch(`/api/alerts/${encodeURIComponent(alertId)}`);
  if (!resp.ok) { text(card, ".message", "无权查看"); return; }
  const rec = await resp.json();
  const byId = new Map((rec.alert.excerpts || []).map((e) => [e.event_id, e]));
  listItems(card.querySelector(".evidence-list"), (rec.alert.evidence || []).map((id) => {
    const e = byId.get(id);
    return e ? `事件 ${id} · ${LABELS.channels[e.channel] || e.channel} · ${e.occurred_at} · ${e.text}` : "事件 " + id;
  }));
  listItems(card.querySelector(".audit-list"), rec.audit.map(auditText));
  card.querySelector(".history-box").hidden = false;
}

async function details(alertId) {
  const card = cards.get(alertId);
  const resp = await fetch(`/api/alerts/${encodeURIComponent(alertId)}/details`);
  const box = card.querySelector(".details-box");
  box.textContent = resp.ok ? JSON.stringify(await resp.json(), null, 2) : "无权查看";
  box.hidden = false;
}

const SUMMARY_STATES = ["open", "new", "acknowledged", "in_handling", "escalated", "resolved"];
const OPEN_STATES = ["new", "acknowledged", "in_handling", "escalated", "reopened"];

async function summary() {
  const resp = await fetch("/api/summary");
  if (!resp.ok) return;
  const counts = (await resp.json()).counts;
  const tbody = document.querySelector("#summary tbody");
  tbody.textContent = "";
  for (const level of ["red", "orange", "yellow", "blue"]) {
    const tr = el("tr", { class: level });
    tr.appendChild(el("th", {}, LABELS.levels[level] || level));
    const row = counts[level] || {};
    for (const state of SUMMARY_STATES) {
      const n = state === "open" ? OPEN_STATES.reduce((sum, s) => sum + (row[s] || 0), 0) : row[state] || 0;
      const td = el("td", { class: state });
      const button = el("button", { type: "button", class: "count-link", "data-level": level, "data-state": state,
        "aria-label": `${LABELS.levels[level]} ${state === "open" ? "未办结" : LABELS.states[state]} ${n} 条` }, n);
      button.addEventListener("click", () => pick({ level, state }));
      td.appendChild(button); tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }
}

async function fillFilters(form) {
  fillOptions(form.elements.type, LABELS.types);
  fillOptions(form.elements.level, LABELS.levels);
  fillOptions(form.elements.state, LABELS.states);
  const resp = await fetch("/api/units");
  if (!resp.ok) return;
  for (const u of (await resp.json()).units) {
    const indent = { street: "", community: "\u3000", grid: "\u3000\u3000" }[u.kind] || "";
    form.elements.unit.appendChild(el("option", { value: u.code }, `${indent}${u.name}${u.name === u.code ? "" : " (" + u.code + ")"}`));
  }
}

// 把筛选条件写入表单 (未给出的清空) 并查询
function pick(params) {
  const form = document.getElementById("filters");
  for (const name of ["type", "level", "state", "unit", "q"]) form.elements[name].value = params[name] || "";
  for (const name of ["since", "until"]) form.elements[name].value = params[name] ? localTime(params[name]) : "";
  search(formParams(form));
}

async function search(params) {
  const resp = await fetch("/api/alerts?" + new URLSearchParams(params));
  const list = document.getElementById("alerts");
  list.textContent = ""; cards.clear();
  const result = document.getElementById("result");
  if (!resp.ok) { result.textContent = "查询失败: " + (await resp.text()); return; }
  const rows = (await resp.json()).alerts;
  for (const rec of rows.slice().reverse()) render({ ...rec, kind: "new", title: rec.alert.title });
  result.textContent = `查询结果 ${rows.length} 条`;
  FILTERING = true;
  document.getElementById("empty").hidden = rows.length > 0;
  history_replace(params);
}

function localTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function history_replace(params) {
  const qs = new URLSearchParams(params).toString();
  window.history.replaceState(null, "", qs ? "/?" + qs : "/");
}

function formParams(form) {
  const params = {};
  for (const [k, v] of new FormData(form)) {
    if (v) params[k] = (k === "since" || k === "until") ? new Date(v).toISOString() : v;
  }
  return params;
}

function keyboard() {
  document.addEventListener("keydown", (ev) => {
    const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
    if (ev.key === "/" && !typing) { ev.preventDefault(); document.querySelector('#filters input[name="q"]').focus(); return; }
    if (typing || !["j", "k", "Enter"].includes(ev.key)) return;
    const all = [...document.querySelectorAll("#alerts article.alert")];
    const at = all.indexOf(document.activeElement);
    if (ev.key === "Enter") { if (at >= 0) location.href = all[at].querySelector(".open-page").href; return; }
    const next = all[Math.max(0, Math.min(all.length - 1, at + (ev.key === "j" ? 1 : -1)))];
    if (next) next.focus();
  });
}

async function main() {
  const me = await whoami();
  if (!me) return;
  const form = document.getElementById("filters");
  await fillFilters(form);
  summary(); setInterval(summary, 10000);
  form.addEventListener("submit", (ev) => { ev.preventDefault(); search(formParams(form)); });
  document.getElementById("quick-red").addEventListener("click", () => pick({ level: "red", state: "open" }));
  document.getElementById("live").addEventListener("click", () => { location.href = "/"; });
  keyboard();
  const initial = Object.fromEntries(new URLSearchParams(location.search));
  if (Object.keys(initial).length) pick(initial);  // e.g. from a map cell: /?unit=...&state=open
  const conn = document.getElementById("conn");
  const source = new EventSource("/api/stream");
  source.addEventListener("open", () => { conn.textContent = "实时连接正常"; conn.className = "conn ok"; });
  source.addEventListener("error", () => { conn.textContent = "连接中断,正在重连…"; conn.className = "conn bad"; });
  source.addEventListener("alert", (ev) => {
    const entry = JSON.parse(ev.data);
    if (!FILTERING || cards.has(entry.alert_id)) render(entry);
    summary();
  });
  source.addEventListener("logout", () => { source.close(); location.href = "/login"; });
}
main();
