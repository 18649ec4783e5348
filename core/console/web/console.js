"use strict";
// Minimal console: sign-in, state, offers and chats. Everything shown is text (never HTML).
let csrf = "";
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
function item(text, actions) {
  const li = document.createElement("li");
  li.textContent = text + " ";
  for (const [label, fn] of actions) {
    const b = document.createElement("button");
    b.textContent = label; b.onclick = fn; li.append(b);
  }
  return li;
}
async function draw() {
  const snap = await api("GET", "/snapshot");
  $("who").textContent = snap.user.display_name;
  $("state").value = snap.user.state;
  $("offers").replaceChildren(...snap.offers.map((o) => item(o.conversation.customer.display_name + " (" + o.conversation.queue + ")", [
    ["Accept", () => api("POST", "/conversations/" + o.conversation.id + "/accept").then(draw)],
    ["Reject", () => api("POST", "/conversations/" + o.conversation.id + "/reject").then(draw)],
  ])));
  $("chats").replaceChildren(...snap.conversations.map((c) => item(c.customer.display_name + " — " + c.state, [])));
}
function listen() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/ws");
  ws.onmessage = () => draw().catch(() => {});
  ws.onclose = () => setTimeout(listen, 1000);
}
async function start(session) {
  csrf = session.csrf_token;
  $("login").hidden = true; $("desk").hidden = false;
  await draw(); listen();
}
$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  try { await start(await api("POST", "/login", Object.fromEntries(f))); }
  catch (err) { $("login-error").textContent = err.message; }
});
$("state").onchange = (e) => api("PUT", "/state", { state: e.target.value });
$("logout").onclick = () => api("POST", "/logout").then(() => location.reload());
api("GET", "/session").then(start).catch(() => {});
