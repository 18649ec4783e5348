import { useState } from "preact/hooks";
import type { AgentState } from "./api";
import { ChatPane, ChatTable } from "./chats";
import { CustomerPanel } from "./customer";
import type { Desk } from "./desk";
import { BellIcon, BellOffIcon } from "./icons";
import { OfferDialog } from "./offer";
import { useStore, type State, type Store } from "./state";
import { SupervisorView } from "./supervisor";
import { TeamView } from "./team";
import { cls, reasonText, stateLabels } from "./util";

export function App({ store, desk }: { store: Store; desk: Desk }) {
  const s = useStore(store);
  if (!s.checked) return <div class="splash">Switchboard</div>;
  if (!s.user) return <Login desk={desk} notice={s.notice} />;
  if (s.popout) {
    const chat = s.chats[s.popout];
    return (
      <div class="popout" data-ready>
        <Notice s={s} desk={desk} />
        {chat ? <ChatPane s={s} desk={desk} chat={chat} popout /> : <p class="empty">This chat is no longer yours.</p>}
      </div>
    );
  }
  const supervisor = s.user.role !== "agent";
  return (
    <div id="desk" class="desk" data-ready>
      <TopBar s={s} desk={desk} />
      <Notice s={s} desk={desk} />
      <nav class="tabs" role="tablist">
        <Tab s={s} store={store} tab="chats" label="Chats" count={Object.keys(s.chats).length} />
        <Tab s={s} store={store} tab="team" label="Team" />
        {supervisor && <Tab s={s} store={store} tab="supervisor" label="Supervisor" />}
      </nav>
      <main class="work">
        {s.tab === "chats" && <ChatsView s={s} desk={desk} />}
        {s.tab === "team" && <TeamView s={s} desk={desk} />}
        {s.tab === "supervisor" && supervisor && <SupervisorView desk={desk} s={s} />}
      </main>
      {s.offers.length > 0 && <OfferDialog s={s} desk={desk} />}
    </div>
  );
}

function Tab({ s, store, tab, label, count }: { s: State; store: Store; tab: State["tab"]; label: string; count?: number }) {
  return (
    <button role="tab" type="button" id={`tab-${tab}`} aria-selected={s.tab === tab} class={cls("tab", s.tab === tab && "on")} onClick={() => store.set({ tab })}>
      {label}
      {count ? <span class="count">{count}</span> : null}
    </button>
  );
}

function ChatsView({ s, desk }: { s: State; desk: Desk }) {
  const focused = s.focused ? s.chats[s.focused] : null;
  return (
    <div class="chats-view">
      <ChatTable s={s} desk={desk} />
      <section class="panes" aria-label="Open chats">
        {s.open.length === 0 && (
          <div class="empty">
            <p>{Object.keys(s.chats).length ? "Select a chat to open it." : s.user?.state === "available" ? "Waiting for the next chat…" : "Set yourself Available to receive chats."}</p>
          </div>
        )}
        {s.open.map((id) => s.chats[id] && <ChatPane key={id} s={s} desk={desk} chat={s.chats[id]} />)}
      </section>
      {focused && focused.view.kind === "customer" && <CustomerPanel key={focused.view.id} desk={desk} chat={focused} />}
    </div>
  );
}

function Notice({ s, desk }: { s: State; desk: Desk }) {
  const offline = s.connection === "offline";
  return (
    <>
      {offline && (
        <div class="banner warn" role="status" id="reconnecting">
          Connection lost. Reconnecting…
        </div>
      )}
      {s.notice && (
        <div class="banner" role="alert" id="notice">
          <span>{s.notice}</span>
          <button type="button" class="link" onClick={() => desk.clearNotice()} aria-label="Dismiss">
            ×
          </button>
        </div>
      )}
    </>
  );
}

function TopBar({ s, desk }: { s: State; desk: Desk }) {
  const u = s.user!;
  const [busy, setBusy] = useState(false);
  const change = async (e: Event) => {
    const el = e.currentTarget as HTMLSelectElement;
    setBusy(true);
    try {
      await desk.setState(el.value as AgentState);
    } catch (err) {
      desk.notice(err);
      el.value = u.state;
    } finally {
      setBusy(false);
    }
  };
  return (
    <header class="topbar">
      <div class="brand">
        <img src="icon.svg" alt="" width="22" height="22" />
        <span>Switchboard</span>
        <span class="tenant">{u.tenant}</span>
      </div>
      <div class="presence">
        <span class={cls("dot", `state-${u.state}`)} aria-hidden="true" />
        <label class="sr-only" for="state">
          State
        </label>
        <select id="state" value={u.state} disabled={busy} onChange={change}>
          {(["available", "on_break", "work_offline"] as AgentState[]).map((st) => (
            <option value={st}>{stateLabels[st]}</option>
          ))}
        </select>
        {u.state_reason && (
          <span class="reason" id="state-reason" data-reason={u.state_reason}>
            {reasonText(u.state_reason)}
          </span>
        )}
      </div>
      <div class="me">
        <span class={cls("conn", s.connection)} title={s.connection === "online" ? "Connected" : "Reconnecting"} id="connection" data-state={s.connection} />
        <button
          type="button"
          id="alerts"
          class="icon-button"
          aria-pressed={s.alerts}
          title={s.alerts ? "Sound and title blink on: click to turn off" : "Sound and title blink off: click to turn on"}
          onClick={() => desk.store.setAlerts(!s.alerts)}
        >
          {s.alerts ? <BellIcon /> : <BellOffIcon />}
        </button>
        <span class="who" id="who">
          {u.display_name}
          <small>{u.role === "agent" ? u.group : `${u.role} · ${u.group}`}</small>
        </span>
        <button type="button" id="logout" class="ghost" onClick={() => desk.logout().catch((e) => desk.notice(e))}>
          Sign out
        </button>
      </div>
    </header>
  );
}

function Login({ desk, notice }: { desk: Desk; notice: string }) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError("");
    try {
      await desk.login(String(f.get("tenant")), String(f.get("username")), String(f.get("password")));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="login-page">
      <form id="login" class="card login" onSubmit={submit}>
        <div class="brand big">
          <img src="icon.svg" alt="" width="32" height="32" />
          <span>Switchboard</span>
        </div>
        <h1>Sign in to the console</h1>
        {notice && <p class="hint">{notice}</p>}
        <label>
          Tenant
          <input name="tenant" defaultValue={localStorage.getItem("switchboard.tenant") ?? "demo"} autocomplete="organization" required
            onChange={(e) => localStorage.setItem("switchboard.tenant", (e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label>
          Username
          <input name="username" autocomplete="username" required autofocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <button class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p id="login-error" class="error" role="alert">
          {error}
        </p>
      </form>
    </div>
  );
}
