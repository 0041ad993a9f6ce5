// 预警详情页: 指标、证据事件(脱敏摘要)、处置记录; 关联预警画关系图, 个案预警画时间线和模型解释。
"use strict";
const ALERT_ID = decodeURIComponent(location.pathname.split("/").pop());
const ACTIONS = { create: "生成", acknowledge: "签收", handle: "处置中", resolve: "化解", escalate: "超时升级",
  upgrade: "升级", reopen: "重启", read_details: "查看当事人详情", close: "关闭" };
const SUBJECTS = { cross_channel_person: "跨渠道重复反映人员", many_against_one: "被多方投诉对象", collective_forming: "共同诉求(酝酿聚集)" };

function set(id, value) { document.getElementById(id).textContent = value; }

function row(tbody, values) {
  const tr = document.createElement("tr");
  for (const v of values) tr.appendChild(el("td", {}, v));
  tbody.appendChild(tr);
}

function evidenceRows(alert) {
  const tbody = document.querySelector("#evidence tbody");
  tbody.textContent = "";
  const byId = new Map((alert.excerpts || []).map((e) => [e.event_id, e]));
  let bare = 0;
  for (const id of alert.evidence || []) {
    const e = byId.get(id);
    if (e) row(tbody, [LABELS.channels[e.channel] || e.channel, e.occurred_at.replace("T", " ").slice(0, 16), e.category_label || e.category, e.text, id]);
    else bare += 1;
  }
  set("evidence-note", bare ? `另有 ${bare} 条证据事件仅有编号(摘要只保存预警产生时在手的事件)。` : "");
}

function explain(rec) {
  const x = rec.explanation || {};
  if (!Object.keys(x).length) return;
  document.getElementById("explain-box").hidden = false;
  const tbody = document.querySelector("#features tbody");
  for (const f of x.top_features || []) row(tbody, [f.label || f.feature, f.value, Number(f.contribution).toFixed(3)]);
  const dl = document.getElementById("explain");
  const items = [["触发规则", (x.rules || []).join("、") || "—"], ["派单", x.dispatch || "—"],
    ["转介", (x.referrals || []).join("、") || "—"], ["接触次数", x.contacts ?? "—"], ["信访层级", x.petition_level ?? "—"]];
  for (const [k, v] of items) { dl.appendChild(el("dt", {}, k)); dl.appendChild(el("dd", {}, typeof v === "object" ? JSON.stringify(v) : v)); }
}

function timeline(rec) {
  const items = (rec.alert.excerpts || []).map((e) => [e.occurred_at, `${LABELS.channels[e.channel] || e.channel} · ${e.category_label || e.category} · ${e.text}`]);
  if (rec.alert.window_start) items.push([rec.alert.window_start, "案件首次出现"]);
  for (const a of rec.audit) items.push([a.at, `${ACTIONS[a.action] || a.action} · ${a.actor}${a.note ? " · " + a.note : ""}`]);
  items.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const ol = document.getElementById("timeline");
  for (const [t, what] of items) ol.appendChild(el("li", {}, `${t.replace("T", " ").slice(0, 16)}  ${what}`));
  document.getElementById("timeline-box").hidden = false;
}

// 关系图: 中心为预警对象, 周围为证据事件(按渠道着色); 读取当事人详情(留痕)后加上人员节点
function graph(rec, people) {
  const box = document.getElementById("graph");
  box.textContent = "";
  const W = 520, H = 300, cx = W / 2, cy = H / 2;
  const svg = svgEl("svg", { id: "relation-graph", viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", "aria-label": "关联人员与事件" });
  const byId = new Map((rec.alert.excerpts || []).map((e) => [e.event_id, e]));
  const nodes = (rec.alert.evidence || []).slice(-12).map((id) => ({ id, kind: "event", e: byId.get(id) }));
  for (const p of people) nodes.push({ id: p, kind: "person" });
  nodes.forEach((n, i) => {
    const angle = (2 * Math.PI * i) / Math.max(nodes.length, 1) - Math.PI / 2;
    n.x = cx + 190 * Math.cos(angle); n.y = cy + 115 * Math.sin(angle);
    svg.appendChild(svgEl("line", { x1: cx, y1: cy, x2: n.x, y2: n.y, class: "edge" }));
  });
  for (const n of nodes) {
    const g = svgEl("g", { class: "node " + n.kind + (n.e ? " " + n.e.channel : ""), "data-id": n.id });
    g.appendChild(svgEl("title", {}, n.e ? `${n.id} ${n.e.text}` : n.id));
    g.appendChild(n.kind === "person" ? svgEl("rect", { x: n.x - 9, y: n.y - 9, width: 18, height: 18 }) : svgEl("circle", { cx: n.x, cy: n.y, r: 9 }));
    const label = n.kind === "person" ? "当事人 " + n.id.slice(0, 8) : (n.e ? (LABELS.channels[n.e.channel] || n.e.channel) + " " + n.e.occurred_at.slice(5, 10) : "事件 " + n.id.slice(0, 6));
    g.appendChild(svgEl("text", { x: n.x, y: n.y + 22, "text-anchor": "middle" }, label));
    svg.appendChild(g);
  }
  const centre = svgEl("g", { class: "node subject" });
  centre.appendChild(svgEl("circle", { cx, cy, r: 16 }));
  centre.appendChild(svgEl("text", { x: cx, y: cy + 32, "text-anchor": "middle" }, SUBJECTS[rec.kind_detail] || "预警对象"));
  svg.appendChild(centre);
  box.appendChild(svg);
  document.getElementById("graph-box").hidden = false;
}

function people(details) {
  const out = [];
  for (const k of ["entity", "respondent", "grievance"]) if (typeof details[k] === "string") out.push(details[k]);
  for (const p of details.parties || []) if (p && p.person_ref) out.push(p.person_ref);
  return [...new Set(out)];
}

function show(rec) {
  const a = rec.alert;
  document.title = `${a.title} · 预警详情`;
  document.getElementById("head").className = "alert " + rec.level;
  document.getElementById("page").dataset.state = rec.state;
  set("level", "【" + (LABELS.levels[rec.level] || rec.level) + "】");
  set("title", a.title);
  set("unit", unitText(rec.unit_info, rec.unit));
  set("type", (LABELS.types[a.type] || a.type) + " · " + (a.category_label || a.category));
  set("state", (LABELS.states[rec.state] || rec.state) + (rec.outcome ? " · " + (LABELS.outcomes[rec.outcome] || rec.outcome) : ""));
  set("seen", `${rec.first_seen.slice(0, 16).replace("T", " ")} / ${rec.last_seen.slice(0, 16).replace("T", " ")} · 共 ${rec.count} 次`);
  const t = (v) => (v || "").slice(0, 16).replace("T", " ");
  set("window", a.window_start ? `${t(a.window_start)} — ${t(a.window_end)}` : "—");
  set("score", a.score == null ? "—" : Number(a.score).toFixed(2));
  set("action", a.action || "—");
  set("alert-id", rec.alert_id);
  const tbody = document.querySelector("#indicators tbody");
  tbody.textContent = "";
  for (const i of a.indicators || []) row(tbody, [i.label || i.name, i.value, i.threshold, Number(i.contribution).toFixed(2)]);
  evidenceRows(a);
  const audit = document.getElementById("audit");
  audit.textContent = "";
  for (const e of rec.audit) audit.appendChild(el("li", { "data-action": e.action }, `${e.at.slice(0, 19).replace("T", " ")} · ${ACTIONS[e.action] || e.action} · ${e.actor} · ${LABELS.states[e.to] || e.to}${e.outcome ? " · " + (LABELS.outcomes[e.outcome] || e.outcome) : ""}${e.note ? " · " + e.note : ""}`));
  document.getElementById("details").hidden = !a.has_details;
}

async function load() {
  const resp = await fetch(`/api/alerts/${encodeURIComponent(ALERT_ID)}`);
  if (!resp.ok) { document.getElementById("missing").hidden = false; return null; }
  const rec = await resp.json();
  show(rec);
  document.getElementById("page").hidden = false;
  return rec;
}

async function main() {
  if (!(await whoami())) return;
  fillOptions(document.getElementById("outcome"), LABELS.outcomes);
  document.getElementById("outcome").value = "resolved_by_mediation";
  let rec = await load();
  if (!rec) return;
  if (rec.alert.type === "relational") graph(rec, []);
  if (rec.alert.type === "case") { timeline(rec); explain(rec); }
  for (const path of ["ack", "handle", "resolve"]) {
    document.getElementById(path).addEventListener("click", async () => {
      const [ok, data] = await transition(ALERT_ID, path, document.getElementById("note").value, document.getElementById("outcome").value);
      set("message", ok ? "已更新: " + (LABELS.states[data.state] || data.state) : data);
      if (ok) rec = (await load()) || rec;
    });
  }
  document.getElementById("details").addEventListener("click", async () => {
    const resp = await fetch(`/api/alerts/${encodeURIComponent(ALERT_ID)}/details`);
    const box = document.getElementById("details-box");
    if (!resp.ok) { box.textContent = "无权查看"; box.hidden = false; return; }
    const details = await resp.json();
    box.textContent = JSON.stringify(details, null, 2); box.hidden = false;
    if (rec.alert.type === "relational") graph({ ...rec, kind_detail: details.kind }, people(details));
    rec = (await load()) || rec;  // the read is in the audit now
  });
}
main();
