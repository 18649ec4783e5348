"use strict";
// A plain console: sign-in, state, offers, chats with history, replies, End and post-processing.
// Message HTML arrives sanitized by the hub; everything else is shown as text.
let csrf = "";
let me = null;
let current = "";          // selected conversation id
const chats = new Map();   // id -> {view, lastSeq, unread}
const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const res = await fetch("/api/v1" + path, {
    method, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error(data && data.error ? data.error : res.statusText);
  return data;
}

// notice shows a problem without blocking the page.
function notice(err) { $("notice").textContent = err && err.message ? err.message : String(err); }

function button(label, fn) {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = label; b.onclick = fn;
  return b;
}

function customerName(v) { return v.customer.display_name || "Customer"; }

function drawOffers(offers) {
  $("offers").replaceChildren(...offers.map((o) => {
    const li = document.createElement("li");
    const c = o.conversation;
    li.append(customerName(c) + " · " + c.channel + " · " + c.queue + " ",
      button("Accept", () => api("POST", "/conversations/" + c.id + "/accept").then(refresh).catch(notice)),
      button("Reject", () => api("POST", "/conversations/" + c.id + "/reject").then(refresh).catch(notice)));
    return li;
  }));
}

function drawChats() {
  $("chats").replaceChildren(...[...chats.values()].map((c) => {
    const li = document.createElement("li");
    const b = button(customerName(c.view) + (c.view.state === "wrap_up" ? " (post-processing)" : "") + (c.late ? " · past SLA" : ""), () => open(c.view.id));
    if (c.unread) { const u = document.createElement("span"); u.className = "unread"; u.textContent = c.unread; b.append(u); }
    li.append(b);
    return li;
  }));
}

function showMessage(m) {
  const li = document.createElement("li");
  li.className = m.sender_kind;
  const from = document.createElement("div");
  const view = chats.has(current) ? chats.get(current).view : null;
  from.className = "from";
  from.textContent = m.sender_name || (m.sender_kind === "customer" && view ? customerName(view) : m.sender_kind);
  const body = document.createElement("div");
  body.innerHTML = m.html;
  li.append(from, body);
  $("messages").append(li);
  $("messages").scrollTop = $("messages").scrollHeight;
}

async function open(id) {
  current = id;
  const c = chats.get(id);
  c.unread = 0; c.lastSeq = 0;
  $("messages").replaceChildren();
  const v = c.view, cust = v.customer;
  $("chat-title").textContent = customerName(v);
  $("chat-sub").textContent = [cust.first_name, cust.last_name, cust.email, v.channel, v.queue].filter(Boolean).join(" · ");
  $("chat").hidden = false;
  drawState(v);
  const res = await api("GET", "/conversations/" + id + "/messages?after=0");
  for (const m of res.messages) { if (m.seq > c.lastSeq) { c.lastSeq = m.seq; showMessage(m); } }
  drawChats();
}

function drawState(v) {
  $("composer").hidden = v.state !== "active";
  $("transfer").hidden = v.state !== "active";
  $("wrapup").hidden = v.state !== "wrap_up";
}

async function refresh() {
  const snap = await api("GET", "/snapshot");
  me = snap.user;
  const reasons = { missed_offers_limit: "put On Break after missed offers" };
  $("who").textContent = me.display_name + (me.state_reason ? " · " + (reasons[me.state_reason] || me.state_reason) : "");
  $("state").value = me.state;
  drawOffers(snap.offers);
  const seen = new Set();
  for (const v of snap.conversations) {
    seen.add(v.id);
    const c = chats.get(v.id) || { lastSeq: 0, unread: 0 };
    c.view = v; chats.set(v.id, c);
  }
  for (const id of chats.keys()) if (!seen.has(id)) chats.delete(id);
  drawChats();
  if (current && chats.has(current)) { drawState(chats.get(current).view); await open(current); }
  else if (current) { current = ""; $("chat").hidden = true; }
}

function onPush(p) {
  switch (p.type) {
    case "hello": case "offer": case "offer_revoked": case "conversation": case "state": case "conversation_gone":
      refresh().catch(() => {});
      break;
    case "sla": {
      const c = chats.get(p.conversation_id);
      if (c) { c.late = true; drawChats(); }
      break;
    }
    case "transfer_returned":
      notice("The transfer was not taken; the chat is still yours.");
      break;
    case "message": {
      const c = chats.get(p.conversation_id);
      if (!c) { refresh().catch(() => {}); break; }
      if (p.conversation_id === current) {
        if (p.message.seq > c.lastSeq) { c.lastSeq = p.message.seq; showMessage(p.message); }
      } else if (p.message.sender_kind !== "agent") { c.unread++; drawChats(); }
      break;
    }
    case "typing":
      if (p.conversation_id === current) $("typing").textContent = p.active ? "The customer is typing…" : "";
      break;
    case "delivery":
      if (p.status === "failed") notice("A message was not delivered: " + p.reason);
      break;
  }
}

function listen() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/ws");
  ws.onmessage = (e) => onPush(JSON.parse(e.data));
  ws.onclose = () => setTimeout(listen, 1000);
}

async function start(session) {
  csrf = session.csrf_token;
  $("login").hidden = true; $("desk").hidden = false;
  await refresh(); listen();
}

$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  try { await start(await api("POST", "/login", Object.fromEntries(new FormData(e.target)))); }
  catch (err) { $("login-error").textContent = err.message; }
});
$("composer").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text || !current) return;
  const id = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
  await api("POST", "/conversations/" + current + "/messages", { client_id: id, text }).catch(notice);
  $("text").value = "";
});
let typingSent = 0;
$("text").addEventListener("input", () => {
  if (current && Date.now() - typingSent > 3000) {
    typingSent = Date.now();
    api("POST", "/conversations/" + current + "/typing", { active: true }).catch(() => {});
  }
});
$("transfer").addEventListener("submit", (e) => {
  e.preventDefault();
  const to = $("transfer-to").value.trim();
  if (!to || !current) return;
  const body = $("transfer-kind").value === "queue" ? { queue: to } : { agent: to };
  api("POST", "/conversations/" + current + "/transfer", body).then(refresh).catch(notice);
});
$("end").onclick = () => api("POST", "/conversations/" + current + "/end").then(refresh).catch(notice);
$("wrapup").addEventListener("submit", (e) => {
  e.preventDefault();
  api("POST", "/conversations/" + current + "/wrapup", { disposition: $("disposition").value, notes: $("notes").value })
    .then(refresh).catch(notice);
});
$("state").onchange = (e) => api("PUT", "/state", { state: e.target.value }).catch(notice);
$("logout").onclick = () => api("POST", "/logout").then(() => location.reload());
api("GET", "/session").then(start).catch(() => {});
