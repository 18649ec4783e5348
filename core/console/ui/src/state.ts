// The console's state: one object, replaced on every change, that every component reads. Live
// pushes and REST answers both go through merge functions that are idempotent, so a message seen
// twice (a push and a catch-up fetch after a reconnect) is kept once.
import { useEffect, useState } from "preact/hooks";
import type { AgentState, Conversation, Directory, Message, Offer, Snapshot, User } from "./api";

export interface PendingMessage {
  clientId: string;
  html: string;
  text: string;
  failed?: string;
}

export interface Chat {
  view: Conversation;
  messages: Message[]; // ordered by seq, each seq once
  loaded: boolean; // the history was fetched
  unread: number;
  typing: boolean; // the other side is typing
  pending: PendingMessage[];
}

export interface LocalOffer extends Offer {
  deadline: number; // local clock, ms
  receivedAt: number;
}

export type Tab = "chats" | "team" | "supervisor";
export type Connection = "connecting" | "online" | "offline";

export interface State {
  user: User | null;
  checked: boolean; // the session check at start has answered
  connection: Connection;
  chats: Record<string, Chat>;
  offers: LocalOffer[];
  open: string[]; // chats shown side by side, left to right
  focused: string | null;
  tab: Tab;
  directory: Directory | null;
  alerts: boolean;
  notice: string;
  popout: string | null; // this window shows only this chat
}

type Listener = () => void;

const alertsKey = "switchboard.alerts";
const openKey = "switchboard.open";

export class Store {
  state: State;
  private listeners = new Set<Listener>();

  constructor(popout: string | null) {
    // The panes a reload should reopen (per tab, like the rest of a session's layout).
    const saved: string[] = popout ? [popout] : JSON.parse(sessionStorage.getItem(openKey) ?? "[]");
    this.state = {
      user: null, checked: false, connection: "connecting", chats: {}, offers: [], open: saved,
      focused: saved[saved.length - 1] ?? null, tab: "chats", directory: null, alerts: localStorage.getItem(alertsKey) !== "off", notice: "",
      popout,
    };
  }

  subscribe(fn: Listener) {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  set(patch: Partial<State> | ((s: State) => Partial<State>)) {
    const p = typeof patch === "function" ? patch(this.state) : patch;
    this.state = { ...this.state, ...p };
    if (p.open && !this.state.popout) sessionStorage.setItem(openKey, JSON.stringify(p.open));
    for (const fn of this.listeners) fn();
  }

  setAlerts(on: boolean) {
    localStorage.setItem(alertsKey, on ? "on" : "off");
    this.set({ alerts: on });
  }

  signedOut() {
    this.set({ user: null, chats: {}, offers: [], open: [], focused: null, connection: "connecting", checked: true });
  }

  setState(state: AgentState, reason?: string) {
    if (this.state.user) this.set({ user: { ...this.state.user, state, state_reason: reason } });
  }

  // applySnapshot replaces the server-owned parts of the state and keeps what the page holds of
  // each chat's history; callers fetch what came after it.
  applySnapshot(snap: Snapshot) {
    this.set((s) => {
      const chats: Record<string, Chat> = {};
      for (const v of snap.conversations) {
        const old = s.chats[v.id];
        chats[v.id] = old
          ? { ...old, view: v, unread: v.unread ?? old.unread }
          : { view: v, messages: [], loaded: false, unread: v.unread ?? 0, typing: false, pending: [] };
      }
      // A pop-out keeps showing its chat after it closed, so the transcript stays readable.
      if (s.popout && !chats[s.popout] && s.chats[s.popout]) chats[s.popout] = s.chats[s.popout];
      const open = s.open.filter((id) => chats[id]);
      const now = Date.now();
      return {
        user: snap.user,
        chats,
        open,
        focused: s.focused && chats[s.focused] ? s.focused : open[0] ?? null,
        offers: snap.offers.map((o) => ({ ...o, deadline: now + o.expires_in_ms, receivedAt: now })),
      };
    });
  }

  // upsertConversation stores a conversation's new view. Views pushed on state changes carry no
  // SLA wait (withSLA false): the chat keeps what messages and earlier views told.
  upsertConversation(v: Conversation, withSLA = true) {
    this.set((s) => {
      const old = s.chats[v.id];
      const sla = withSLA || !old ? {} : { waiting_since: old.view.waiting_since, past_sla: old.view.past_sla };
      const chat: Chat = old
        ? { ...old, view: { ...v, ...sla, unread: undefined } }
        : { view: v, messages: [], loaded: false, unread: v.unread ?? 0, typing: false, pending: [] };
      return { chats: { ...s.chats, [v.id]: chat }, offers: s.offers.filter((o) => o.conversation.id !== v.id) };
    });
  }

  removeConversation(id: string) {
    this.set((s) => {
      if (!s.chats[id] || s.popout === id) return {};
      const chats = { ...s.chats };
      delete chats[id];
      const open = s.open.filter((o) => o !== id);
      return { chats, open, focused: s.focused === id ? open[0] ?? null : s.focused };
    });
  }

  addOffer(o: Offer) {
    const now = Date.now();
    this.set((s) => ({
      offers: [...s.offers.filter((x) => x.conversation.id !== o.conversation.id), { ...o, deadline: now + o.expires_in_ms, receivedAt: now }],
    }));
  }

  removeOffer(id: string) {
    this.set((s) => ({ offers: s.offers.filter((o) => o.conversation.id !== id) }));
  }

  // mergeMessages adds messages to a chat, once per seq, and drops the pending copies they confirm.
  // It returns how many were new.
  mergeMessages(id: string, msgs: Message[], opts: { loaded?: boolean; countUnread?: boolean } = {}): number {
    let added = 0;
    this.set((s) => {
      const chat = s.chats[id];
      if (!chat) return {};
      const bySeq = new Map(chat.messages.map((m) => [m.seq, m]));
      let unread = chat.unread;
      const mine = s.user?.id;
      for (const m of msgs) {
        if (bySeq.has(m.seq)) continue;
        bySeq.set(m.seq, m);
        added++;
        if (opts.countUnread && !(m.sender_kind === "agent" && m.sender_id === mine)) unread++;
      }
      const confirmed = new Set(msgs.map((m) => m.client_id).filter(Boolean));
      const messages = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
      const pending = chat.pending.filter((p) => !confirmed.has(p.clientId));
      const last = messages.length ? messages[messages.length - 1].seq : 0;
      const view = last > chat.view.last_seq ? { ...chat.view, last_seq: last } : chat.view;
      return {
        chats: { ...s.chats, [id]: { ...chat, view, messages, pending, unread, loaded: chat.loaded || !!opts.loaded, typing: added ? false : chat.typing } },
      };
    });
    return added;
  }

  // updateMessage replaces a message the chat holds (a delivery report changed it).
  updateMessage(id: string, m: Message) {
    this.patchChat(id, (c) => (c.messages.some((x) => x.seq === m.seq) ? { messages: c.messages.map((x) => (x.seq === m.seq ? m : x)) } : {}));
  }

  patchChat(id: string, fn: (c: Chat) => Partial<Chat>) {
    this.set((s) => (s.chats[id] ? { chats: { ...s.chats, [id]: { ...s.chats[id], ...fn(s.chats[id]) } } } : {}));
  }

  openChat(id: string) {
    this.set((s) => ({ open: s.open.includes(id) ? s.open : [...s.open, id].slice(-3), focused: id, tab: "chats" }));
  }

  closePane(id: string) {
    this.set((s) => {
      const open = s.open.filter((o) => o !== id);
      return { open, focused: s.focused === id ? open[open.length - 1] ?? null : s.focused };
    });
  }
}

export function useStore(store: Store): State {
  const [, setVersion] = useState(0);
  useEffect(() => store.subscribe(() => setVersion((v) => v + 1)), [store]);
  return store.state;
}
