// The desk runs the console's side effects: the live connection with reconnect and catch-up, and
// every action an agent takes. Components call it and read the Store.
import { api, ApiError, conversationPath, setCSRF } from "./api";
import type { AgentState, Conversation, Directory, Message, Push, Snapshot, User } from "./api";
import { Alerts } from "./alerts";
import { Store } from "./state";
import { newId } from "./util";

interface SessionResponse {
  user: User;
  csrf_token: string;
}

export class Desk {
  private ws: WebSocket | null = null;
  private retry = 0;
  private retryTimer = 0;
  private stopped = true;
  private typingSent = new Map<string, number>();
  private typingStop = new Map<string, number>();
  private readSent = new Map<string, number>();
  readonly alerts: Alerts;

  constructor(readonly store: Store) {
    this.alerts = new Alerts(() => store.state.alerts);
    document.addEventListener("visibilitychange", () => this.markFocusedRead());
    window.addEventListener("focus", () => this.markFocusedRead());
  }

  notice(err: unknown) {
    const msg = err instanceof Error ? err.message : String(err);
    this.store.set({ notice: msg });
  }

  clearNotice() {
    this.store.set({ notice: "" });
  }

  async start() {
    try {
      const s = await api<SessionResponse>("GET", "/session");
      this.signedIn(s);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) this.notice(err);
      this.store.signedOut();
    }
  }

  async login(tenant: string, username: string, password: string) {
    const s = await api<SessionResponse>("POST", "/login", { tenant, username, password });
    this.signedIn(s);
  }

  async logout() {
    this.stop();
    try {
      await api("POST", "/logout");
    } finally {
      setCSRF("");
      this.store.signedOut();
      this.alerts.stop();
    }
  }

  private signedIn(s: SessionResponse) {
    setCSRF(s.csrf_token);
    this.store.set({ user: s.user, checked: true, notice: "" });
    this.connect();
    api<Directory>("GET", "/directory")
      .then((directory) => this.store.set({ directory }))
      .catch((e) => this.notice(e));
  }

  // connect opens the live connection. Its first frame is a snapshot; every chat whose history
  // the page holds is then fetched from the last seq it has, so a gap is filled and nothing shows
  // twice.
  connect() {
    this.stopped = false;
    clearTimeout(this.retryTimer);
    this.store.set({ connection: "connecting" });
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/ws");
    this.ws = ws;
    ws.onmessage = (ev) => {
      let p: Push;
      try {
        p = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.onPush(p);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      this.store.set({ connection: "offline" });
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect() {
    const delay = Math.min(10_000, 500 * 2 ** this.retry) * (0.75 + Math.random() / 2);
    this.retry++;
    this.retryTimer = window.setTimeout(async () => {
      // A closed socket may mean the session ended: ask before dialling again.
      try {
        await api("GET", "/session");
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          this.stop();
          this.store.signedOut();
          this.store.set({ notice: "Your session ended; sign in again." });
          return;
        }
      }
      this.connect();
    }, delay);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.ws?.close();
    this.ws = null;
  }

  private onPush(p: Push) {
    const s = this.store;
    switch (p.type) {
      case "hello":
        this.retry = 0;
        s.set({ connection: "online" });
        this.hello(p.snapshot);
        break;
      case "offer":
        s.addOffer(p.offer);
        this.alerts.ring(`Offer: ${p.offer.conversation.customer.display_name}`);
        break;
      case "offer_revoked":
        s.removeOffer(p.conversation_id);
        this.quietIfIdle();
        break;
      case "sla":
        // The customer has waited past the queue's target for a reply: the icon turns red.
        s.patchChat(p.conversation_id, (c) => ({
          view: { ...c.view, past_sla: true, waiting_since: c.view.waiting_since ?? new Date().toISOString() },
        }));
        break;
      case "transfer_returned":
        this.notice(`A transfer came back to you: ${p.reason ?? "nobody accepted it"}.`);
        this.refresh();
        break;
      case "conversation": {
        const v = p.conversation;
        if (v.state === "closed") {
          s.removeConversation(v.id);
          break;
        }
        const isNew = !s.state.chats[v.id];
        s.upsertConversation(v, false);
        if (isNew && v.kind === "customer") {
          // The full view says whether the customer already waits for a reply.
          api<Conversation>("GET", conversationPath(v.id)).then((full) => s.upsertConversation(full)).catch(() => {});
        }
        if (isNew && v.kind === "internal" && v.agent_id !== s.state.user?.id) this.alerts.ring(`Chat from ${v.peer?.display_name ?? "a colleague"}`);
        if (isNew && v.kind === "expert") this.alerts.ring(`Chat with ${v.peer?.display_name ?? "an expert"}`);
        if (isNew && s.state.popout === null && v.kind === "customer" && v.state === "active") s.openChat(v.id);
        this.quietIfIdle();
        break;
      }
      case "conversation_gone":
        s.removeConversation(p.conversation_id);
        break;
      case "message": {
        const chat = s.state.chats[p.conversation_id];
        if (!chat) {
          // A chat this page does not know yet (an agent-to-agent chat that just started): the
          // snapshot brings it.
          this.refresh();
          break;
        }
        const seen = this.isSeen(p.conversation_id);
        const added = s.mergeMessages(p.conversation_id, [p.message], { countUnread: !seen });
        if (added && chat.view.kind === "customer") this.trackReplyWait(p.conversation_id, p.message);
        if (added && seen) this.markRead(p.conversation_id);
        if (added && !seen && p.message.sender_id !== s.state.user?.id && chat.view.kind !== "customer") {
          this.alerts.ring(`${p.message.sender_name}: new message`);
        }
        break;
      }
      case "delivery":
        if (p.message) s.updateMessage(p.conversation_id, p.message);
        if (p.status === "failed") this.notice(`A message was not delivered: ${p.reason || "the customer's platform refused it"}.`);
        break;
      case "typing":
        s.patchChat(p.conversation_id, () => ({ typing: p.active }));
        break;
      case "state":
        s.setState(p.state, p.reason);
        break;
    }
  }

  // trackReplyWait keeps the blue icon in step between snapshots: a customer's message starts a
  // wait for the agent's reply, the agent's reply ends it.
  private trackReplyWait(id: string, m: Message) {
    this.store.patchChat(id, (c) => {
      if (m.sender_kind === "customer") return c.view.waiting_since ? {} : { view: { ...c.view, waiting_since: m.created_at } };
      if (m.sender_kind === "agent") return { view: { ...c.view, waiting_since: undefined, past_sla: false } };
      return {};
    });
  }

  private async hello(snap: Snapshot) {
    this.store.applySnapshot(snap);
    if (snap.offers.length) this.alerts.ring(`Offer: ${snap.offers[0].conversation.customer.display_name}`);
    else this.quietIfIdle();
    const st = this.store.state;
    const wanted = new Set([...st.open, ...(st.popout ? [st.popout] : [])]);
    await Promise.all(
      Object.values(st.chats)
        .filter((c) => c.loaded || wanted.has(c.view.id))
        .map((c) => this.loadHistory(c.view.id)),
    );
  }

  async refresh() {
    try {
      const snap = await api<Snapshot>("GET", "/snapshot");
      await this.hello(snap);
    } catch (err) {
      this.notice(err);
    }
  }

  private quietIfIdle() {
    if (this.store.state.offers.length === 0) this.alerts.stop();
  }

  // loadHistory fetches the messages after the last one the page holds. An expert chat may be
  // long-lived: it opens with its last 30 messages.
  async loadHistory(id: string) {
    const chat = this.store.state.chats[id];
    if (!chat) return;
    let after = chat.messages.length ? chat.messages[chat.messages.length - 1].seq : 0;
    if (after === 0 && chat.view.kind === "expert") {
      const res = await api<{ messages: Message[] }>("GET", `${conversationPath(id)}/messages?last=30`);
      this.store.mergeMessages(id, res.messages, { loaded: true });
      if (res.messages.length === 0) return;
      after = res.messages[res.messages.length - 1].seq;
    }
    for (;;) {
      const res = await api<{ messages: Message[] }>("GET", `${conversationPath(id)}/messages?after=${after}&limit=500`);
      this.store.mergeMessages(id, res.messages, { loaded: true });
      if (res.messages.length < 500) break;
      after = res.messages[res.messages.length - 1].seq;
    }
    if (this.isSeen(id)) this.markRead(id);
  }

  private isSeen(id: string) {
    const s = this.store.state;
    return s.focused === id && s.open.includes(id) && s.tab === "chats" && document.visibilityState === "visible";
  }

  markFocusedRead() {
    const f = this.store.state.focused;
    if (f && this.isSeen(f)) this.markRead(f);
  }

  // markRead tells the hub the agent read the chat up to its last message; the unread count is
  // kept on the server so it survives a reload.
  markRead(id: string) {
    const chat = this.store.state.chats[id];
    if (!chat) return;
    const seq = chat.messages.length ? chat.messages[chat.messages.length - 1].seq : chat.view.last_seq;
    this.store.patchChat(id, () => ({ unread: 0 }));
    if ((this.readSent.get(id) ?? 0) >= seq || seq === 0) return;
    this.readSent.set(id, seq);
    api("POST", `${conversationPath(id)}/read`, { seq }).catch(() => this.readSent.delete(id));
  }

  async open(id: string) {
    this.store.openChat(id);
    const chat = this.store.state.chats[id];
    if (chat && !chat.loaded) await this.loadHistory(id).catch((e) => this.notice(e));
    this.markRead(id);
  }

  focus(id: string) {
    this.store.set({ focused: id });
    this.markRead(id);
  }

  popOut(id: string) {
    const w = window.open(`${location.pathname}?pop=${encodeURIComponent(id)}`, `chat-${id}`, "popup,width=520,height=720");
    if (w) this.store.closePane(id);
  }

  async setState(state: AgentState) {
    const u = await api<User>("PUT", "/state", { state });
    this.store.setState(u.state, u.state_reason);
  }

  async accept(id: string) {
    this.store.removeOffer(id);
    this.quietIfIdle();
    const v = await api<Conversation>("POST", `${conversationPath(id)}/accept`);
    this.store.upsertConversation(v);
    await this.open(id);
  }

  async reject(id: string) {
    this.store.removeOffer(id);
    this.quietIfIdle();
    await api("POST", `${conversationPath(id)}/reject`);
  }

  // send shows the message at once and confirms it with the hub's copy; the client id makes a
  // retry after a dropped connection safe.
  async send(id: string, html: string, text: string, clientId = newId()) {
    this.stopTyping(id);
    this.store.patchChat(id, (c) => ({
      pending: [...c.pending.filter((p) => p.clientId !== clientId), { clientId, html, text }],
    }));
    try {
      const m = await api<Message>("POST", `${conversationPath(id)}/messages`, { client_id: clientId, html, text });
      if (this.store.mergeMessages(id, [m])) this.trackReplyWait(id, m);
      this.markRead(id);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.store.patchChat(id, (c) => ({ pending: c.pending.map((p) => (p.clientId === clientId ? { ...p, failed: reason } : p)) }));
    }
  }

  retrySend(id: string, clientId: string) {
    const p = this.store.state.chats[id]?.pending.find((x) => x.clientId === clientId);
    if (p) this.send(id, p.html, p.text, clientId);
  }

  // typed reports typing at most every 3 s and stops 4 s after the last key.
  typed(id: string) {
    const now = Date.now();
    if (now - (this.typingSent.get(id) ?? 0) > 3000) {
      this.typingSent.set(id, now);
      api("POST", `${conversationPath(id)}/typing`, { active: true }).catch(() => {});
    }
    clearTimeout(this.typingStop.get(id));
    this.typingStop.set(id, window.setTimeout(() => this.stopTyping(id), 4000));
  }

  private stopTyping(id: string) {
    clearTimeout(this.typingStop.get(id));
    this.typingStop.delete(id);
    if (this.typingSent.has(id)) {
      this.typingSent.delete(id);
      api("POST", `${conversationPath(id)}/typing`, { active: false }).catch(() => {});
    }
  }

  async end(id: string) {
    const v = await api<Conversation>("POST", `${conversationPath(id)}/end`);
    if (v.state === "closed") this.store.removeConversation(id);
    else this.store.upsertConversation(v);
  }

  async wrapUp(id: string, disposition: string, notes: string) {
    await api("POST", `${conversationPath(id)}/wrapup`, { disposition, notes });
    this.store.removeConversation(id);
    if (this.store.state.popout === id) window.close();
  }

  // transfer hands the chat to a queue (it leaves at once) or offers it to an agent (it stays
  // until they accept; the hub then says it is gone).
  async transfer(id: string, target: { queue?: string; agent?: string }) {
    await api("POST", `${conversationPath(id)}/transfer`, target);
    if (target.queue) this.store.removeConversation(id);
  }

  async startExpertChat(instance: string, expert: string) {
    const v = await api<Conversation>("POST", `/experts/${encodeURIComponent(instance)}/chats`, { expert });
    this.store.upsertConversation(v);
    await this.open(v.id);
  }

  async startChat(username: string) {
    const v = await api<Conversation>("POST", "/chats", { username });
    this.store.upsertConversation(v);
    await this.open(v.id);
  }
}
