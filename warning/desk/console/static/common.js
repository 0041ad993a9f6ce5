// 值班台与预警页共用: 标签、单位名称、元素构造、签收/处置/化解接口。
"use strict";
let LABELS = { levels: {}, states: {}, kinds: {}, types: {}, outcomes: {}, channels: {} };
const SVG_NS = "http://www.w3.org/2000/svg";

function el(tag, attrs, textValue) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (textValue !== undefined) node.textContent = String(textValue);
  return node;
}

function svgEl(tag, attrs, textValue) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (textValue !== undefined) node.textContent = String(textValue);
  return node;
}

// 单位显示: 名称 (编码); 无名称时只显示编码
function unitText(info, code) {
  if (!info) return code || "";
  return info.path && info.path !== info.code ? `${info.path} (${info.code})` : info.code;
}

function fillOptions(select, labels) {
  for (const [code, label] of Object.entries(labels)) select.appendChild(el("option", { value: code }, label));
}

async function whoami() {
  const resp = await fetch("/api/me");
  if (!resp.ok) { location.href = "/login"; return null; }
  const me = await resp.json();
  LABELS = me.labels;
  document.getElementById("whoami").textContent = `${me.name} · ${unitText(me.unit_info, me.unit)}`;
  return me;
}

// path: ack | handle | resolve; 返回 [ok, 新记录或错误信息]
async function transition(alertId, path, note, outcome) {
  const body = { note };
  if (path === "resolve") body.outcome = outcome;
  const resp = await fetch(`/api/alerts/${encodeURIComponent(alertId)}/${path}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const data = await resp.json().catch(() => ({}));
  return resp.ok ? [true, data] : [false, data.error || ("操作失败 " + resp.status)];
}

function auditText(e) {
  return [e.at, e.actor, e.action, LABELS.states[e.to] || e.to, LABELS.outcomes[e.outcome] || "", e.note]
    .filter(Boolean).join(" · ");
}
