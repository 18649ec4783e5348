/* Switchboard web chat widget. Embed with:
 *   <script src="https://HUB/c/INSTANCE/widget.js" async></script>
 * Optional attributes: data-queue="support", data-open="1".
 * Messages are sent with ids and kept until the hub acknowledges them; after a reconnect the
 * widget sends the unacknowledged ones again in order, and drops hub events it has already shown.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var base = script.src.replace(/widget\.js(\?.*)?$/, "");
  var wsURL = base.replace(/^http/, "ws") + "ws";
  var storeKey = "switchboard-webchat:" + base;
  var state = load();
  var ws = null, retry = 0, started = false, ui = {};

  function load() {
    try { return JSON.parse(sessionStorage.getItem(storeKey)) || fresh(); } catch (e) { return fresh(); }
  }
  function fresh() { return { conversation: "", pending: [], seen: [], log: [], identity: null, ended: false }; }
  function save() {
    if (state.seen.length > 1000) state.seen = state.seen.slice(-1000);
    if (state.log.length > 500) state.log = state.log.slice(-500);
    try { sessionStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }
  function newID() {
    var a = new Uint8Array(12); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function el(tag, css, text) {
    var e = document.createElement(tag);
    if (css) for (var k in css) e.style[k] = css[k];
    if (text) e.textContent = text;
    return e;
  }

  function build() {
    ui.button = el("button", { position: "fixed", right: "20px", bottom: "20px", padding: "12px 18px", border: "0",
      borderRadius: "24px", background: "#24508f", color: "#fff", font: "600 15px system-ui,sans-serif", cursor: "pointer",
      boxShadow: "0 2px 8px rgba(0,0,0,.25)", zIndex: 2147483000 }, "Chat with us");
    ui.button.setAttribute("data-switchboard", "launcher");
    ui.panel = el("div", { position: "fixed", right: "20px", bottom: "76px", width: "340px", maxWidth: "calc(100vw - 40px)",
      height: "460px", maxHeight: "calc(100vh - 100px)", display: "none", flexDirection: "column", background: "#fff",
      border: "1px solid #ccd", borderRadius: "10px", boxShadow: "0 4px 16px rgba(0,0,0,.2)", font: "14px/1.4 system-ui,sans-serif",
      color: "#222", zIndex: 2147483000, overflow: "hidden" });
    ui.panel.setAttribute("data-switchboard", "panel");
    ui.head = el("div", { background: "#24508f", color: "#fff", padding: "10px 12px", fontWeight: "600" }, "Chat with us");
    ui.status = el("div", { fontSize: "12px", color: "#555", padding: "4px 12px" });
    ui.status.setAttribute("data-switchboard", "status");
    ui.log = el("div", { flex: "1", overflowY: "auto", padding: "8px 12px" });
    ui.log.setAttribute("data-switchboard", "log");
    ui.form = el("form", { display: "flex", gap: "6px", padding: "8px", borderTop: "1px solid #eee" });
    ui.input = el("input", { flex: "1", padding: "8px", border: "1px solid #ccd", borderRadius: "6px" });
    ui.input.setAttribute("aria-label", "Your message"); ui.input.setAttribute("data-switchboard", "input");
    ui.send = el("button", { padding: "8px 12px", border: "0", borderRadius: "6px", background: "#24508f", color: "#fff" }, "Send");
    ui.send.setAttribute("data-switchboard", "send");
    ui.form.append(ui.input, ui.send);
    ui.prechat = buildPrechat();
    ui.panel.append(ui.head, ui.status, ui.log, ui.prechat, ui.form);
    document.body.append(ui.button, ui.panel);
    ui.button.onclick = function () { toggle(ui.panel.style.display === "none"); };
    var typingTimer = null;
    ui.form.onsubmit = function (e) {
      e.preventDefault();
      sendText(ui.input.value);
      ui.input.value = "";
      // A sent message ends the typing; the next key starts a new one.
      clearTimeout(typingTimer);
      typingTimer = null;
    };
    ui.input.oninput = function () {
      if (!typingTimer) send({ type: "typing", active: true });
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { typingTimer = null; send({ type: "typing", active: false }); }, 2000);
    };
    for (var i = 0; i < state.log.length; i++) show(state.log[i], true);
  }

  function buildPrechat() {
    var f = el("form", { display: "grid", gap: "6px", padding: "12px" });
    f.setAttribute("data-switchboard", "prechat");
    f.append(el("div", null, "Tell us who you are and we connect you with an agent."));
    var fields = [["nickname", "Your name"], ["email", "Email (optional)"], ["account_number", "Account number (optional)"]];
    fields.forEach(function (fd) {
      var inp = el("input", { padding: "8px", border: "1px solid #ccd", borderRadius: "6px" });
      inp.name = fd[0]; inp.placeholder = fd[1]; inp.setAttribute("aria-label", fd[1]);
      if (fd[0] === "nickname") inp.required = true;
      f.append(inp);
    });
    var go = el("button", { padding: "8px", border: "0", borderRadius: "6px", background: "#24508f", color: "#fff" }, "Start chat");
    go.setAttribute("data-switchboard", "start");
    f.append(go);
    f.onsubmit = function (e) {
      e.preventDefault();
      var id = {};
      fields.forEach(function (fd) { var v = f.elements[fd[0]].value.trim(); if (v) id[fd[0]] = v; });
      id.language = (navigator.language || "en").slice(0, 2);
      state.identity = id; state.ended = false; save();
      connect();
    };
    return f;
  }

  function layout(open) {
    ui.panel.style.display = open ? "flex" : "none";
    var needForm = !state.identity || state.ended;
    ui.prechat.style.display = open && needForm ? "grid" : "none";
    ui.form.style.display = needForm ? "none" : "flex";
    return open && !needForm;
  }
  function toggle(open) {
    if (layout(open)) connect();
  }

  function status(text) { ui.status.textContent = text; }

  function show(entry, replay) {
    var row = el("div", { margin: "6px 0", textAlign: entry.mine ? "right" : "left" });
    row.setAttribute("data-switchboard", entry.mine ? "mine" : entry.kind);
    if (entry.id) row.setAttribute("data-id", entry.id);
    var bubble = el("div", { display: "inline-block", padding: "6px 10px", borderRadius: "10px", maxWidth: "85%",
      background: entry.mine ? "#dbe7fb" : entry.kind === "system" ? "#f3f3f3" : "#eef0f3", textAlign: "left" });
    if (entry.name && !entry.mine) bubble.append(el("div", { fontSize: "11px", color: "#666" }, entry.name));
    var body = el("div");
    // The hub sends HTML already sanitized to a small safe subset; customers' own text is shown as text.
    if (entry.html && !entry.mine) body.innerHTML = entry.html; else body.textContent = entry.text;
    bubble.append(body);
    row.append(bubble);
    ui.log.append(row);
    ui.log.scrollTop = ui.log.scrollHeight;
    if (!replay) { state.log.push(entry); save(); }
  }

  function send(frame) {
    if (ws && ws.readyState === 1 && started) ws.send(JSON.stringify(frame));
  }

  function sendText(text) {
    text = (text || "").trim();
    if (!text) return;
    var msg = { type: "message", id: newID(), text: text };
    state.pending.push(msg);
    show({ mine: true, id: msg.id, text: text });
    send(msg);
  }

  function connect() {
    if (ws && ws.readyState <= 1) return;
    layout(true);
    status("Connecting…");
    ws = new WebSocket(wsURL);
    started = false;
    ws.onopen = function () {
      retry = 0;
      ws.send(JSON.stringify({ type: "start", conversation: state.conversation, customer: state.identity || {},
        queue: script.getAttribute("data-queue") || "", origin: location.href }));
    };
    ws.onmessage = function (e) {
      var f; try { f = JSON.parse(e.data); } catch (err) { return; }
      switch (f.type) {
        case "started":
          started = true;
          if (state.conversation !== f.conversation) { state.conversation = f.conversation; save(); }
          if (f.name) ui.head.textContent = f.name;
          status("Waiting for an agent…");
          for (var i = 0; i < state.pending.length; i++) ws.send(JSON.stringify(state.pending[i]));
          break;
        case "ack":
          state.pending = state.pending.filter(function (m) { return m.id !== f.id; });
          save();
          break;
        case "error":
          status(f.reason || "Something went wrong");
          if (f.id) {
            state.pending = state.pending.filter(function (m) { return m.id !== f.id; }); save();
            var rows = ui.log.querySelectorAll("[data-id]");
            for (var r = 0; r < rows.length; r++) {
              if (rows[r].getAttribute("data-id") === f.id) {
                rows[r].style.opacity = "0.5";
                rows[r].title = "Not sent: " + (f.reason || "refused");
              }
            }
          }
          break;
        case "typing":
          status(f.active ? (f.name || "The agent") + " is typing…" : "");
          break;
        case "message": case "assigned": case "ended": case "transferred":
          ws.send(JSON.stringify({ type: "ack", id: f.id }));
          if (state.seen.indexOf(f.id) >= 0) break;
          state.seen.push(f.id);
          if (f.type === "message") show({ id: f.id, kind: f.from, name: f.name, text: f.text, html: f.html });
          if (f.type === "assigned") { status(""); show({ id: f.id, kind: "system", text: f.name + " joined the chat." }); }
          if (f.type === "transferred") show({ id: f.id, kind: "system", text: "You are being transferred." });
          if (f.type === "ended") { show({ id: f.id, kind: "system", text: "The chat has ended." }); endLocal(); }
          save();
          break;
        case "queue":
          status(f.closed ? (f.reason || "Nobody can answer right now.") : "You are number " + f.position + " in line.");
          break;
      }
    };
    ws.onclose = function () {
      started = false;
      if (state.ended) return;
      status("Reconnecting…");
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 250 * Math.pow(2, retry - 1));
    };
  }

  function endLocal() {
    state.ended = true; state.conversation = ""; state.pending = []; save();
    ui.form.style.display = "none"; ui.prechat.style.display = "grid";
    if (ws) ws.close();
  }

  function ready() {
    build();
    if (script.getAttribute("data-demo")) {
      var s = document.getElementById("snippet");
      if (s) s.textContent = '<script src="' + script.src + '" async></script>';
    }
    if (state.conversation && !state.ended) connect();
    else if (script.getAttribute("data-open")) toggle(true);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready); else ready();
})();
