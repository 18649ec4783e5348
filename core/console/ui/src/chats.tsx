import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { api, conversationPath, type AgentInfo, type Conversation, type Message } from "./api";
import type { Desk } from "./desk";
import { SafeHTML } from "./html";
import { CloseIcon, DownloadIcon, LinkIcon, PopOutIcon, TransferIcon } from "./icons";
import type { JSX } from "preact";
import type { Chat, PendingMessage, State } from "./state";
import { channelLabel, chatTitle, clock, cls, fullName, peerLine, since, stateLabels, useNow } from "./util";

// status is the chat's icon: blue while the customer waits for a reply, red once that wait is
// past the queue's SLA.
function status(v: Conversation): { cls: string; label: string } {
  if (v.state === "wrap_up") return { cls: "status-wrapup", label: "Post-processing" };
  if (v.kind === "customer" && v.past_sla) return { cls: "status-late", label: "Past SLA: the customer waits for a reply" };
  if (v.kind === "customer" && v.waiting_since) return { cls: "status-waiting", label: "The customer waits for a reply" };
  return { cls: "status-ok", label: "Replied" };
}

export function ChatTable({ s, desk }: { s: State; desk: Desk }) {
  const now = useNow();
  const all = Object.values(s.chats);
  const customers = all.filter((c) => c.view.kind === "customer");
  const team = all.filter((c) => c.view.kind === "internal");
  const experts = all.filter((c) => c.view.kind === "expert");
  const row = (c: Chat) => {
    const v = c.view;
    const st = status(v);
    const open = s.open.includes(v.id);
    return (
      <tr
        key={v.id}
        class={cls("chat-row", open && "open", s.focused === v.id && "focused")}
        data-id={v.id}
        data-status={st.cls}
        onClick={() => desk.open(v.id)}
        tabIndex={0}
        onKeyDown={(e) => e.key === "Enter" && desk.open(v.id)}
      >
        <td>
          <span class={cls("status", st.cls)} title={st.label} aria-label={st.label} role="img" />
        </td>
        <td class="name">
          <span>{chatTitle(v)}</span>
          <small>{v.kind === "customer" ? `${channelLabel(v.channel)} · ${v.queue}` : peerLine(v)}</small>
        </td>
        <td class="time" title={v.kind === "customer" ? "Time since you took the chat" : "Time since the chat started"}>
          {v.state === "wrap_up" ? "wrap-up" : since(v.assigned_at ?? v.created_at, now)}
        </td>
        <td>{c.unread > 0 && <span class={cls("unread", v.kind !== "customer" && "blink")} aria-label={`${c.unread} unread`}>{c.unread}</span>}</td>
      </tr>
    );
  };
  return (
    <aside class="chat-list" aria-label="Your chats">
      <h2>
        Customer chats <span class="muted">{customers.filter((c) => c.view.state === "active").length} / {s.user?.max_chats}</span>
      </h2>
      <table id="chats" class="table">
        <tbody>{customers.map(row)}</tbody>
      </table>
      {customers.length === 0 && <p class="muted pad">No customer chats.</p>}
      <h2>Team chats</h2>
      <table id="team-chats" class="table">
        <tbody>{team.map(row)}</tbody>
      </table>
      {team.length === 0 && <p class="muted pad">Start one from the Team tab.</p>}
      <h2>Expert chats</h2>
      <table id="expert-chats" class="table">
        <tbody>{experts.map(row)}</tbody>
      </table>
      {experts.length === 0 && <p class="muted pad">Experts write to you from their chat app, or start one from the Team tab.</p>}
    </aside>
  );
}

export function ChatPane({ s, desk, chat, popout }: { s: State; desk: Desk; chat: Chat; popout?: boolean }) {
  const v = chat.view;
  const [panel, setPanel] = useState<"" | "transfer" | "transcript">("");
  const colleague = v.kind !== "customer";
  const act = (fn: () => Promise<unknown>) => () => fn().catch((e) => desk.notice(e));
  return (
    <article
      class={cls("pane", s.focused === v.id && "focused", popout && "popout-pane")}
      data-id={v.id}
      aria-label={`Chat with ${chatTitle(v)}`}
      onMouseDown={() => s.focused !== v.id && desk.focus(v.id)}
    >
      <TitleBar v={v} />
      <div class="pane-actions">
        {v.kind === "customer" && v.state === "active" && (
          <button type="button" class="ghost" data-action="transfer" title="Transfer to a queue or an agent" aria-expanded={panel === "transfer"} onClick={() => setPanel(panel === "transfer" ? "" : "transfer")}>
            <TransferIcon /> <span class="label">Transfer</span>
          </button>
        )}
        <button type="button" class="ghost" data-action="transcript" title="Download the transcript" aria-expanded={panel === "transcript"} onClick={() => setPanel(panel === "transcript" ? "" : "transcript")}>
          <DownloadIcon /> <span class="label">Save transcript</span>
        </button>
        {!popout && (
          <button type="button" class="ghost" data-action="popout" title="Open in its own window" onClick={() => desk.popOut(v.id)}>
            <PopOutIcon /> <span class="label">Pop out</span>
          </button>
        )}
        {v.state === "active" && (
          <button type="button" class="danger" data-action="end" onClick={act(() => desk.end(v.id))}>
            End
          </button>
        )}
        {!popout && (
          <button type="button" class="icon-button" data-action="close" title="Close this pane (the chat stays in your list)" onClick={() => desk.store.closePane(v.id)}>
            <CloseIcon />
          </button>
        )}
      </div>
      {panel === "transfer" && <TransferPanel s={s} desk={desk} v={v} done={() => setPanel("")} />}
      {panel === "transcript" && (
        <div class="drawer transcript-links">
          <span>Download the whole conversation as</span>
          <a class="button ghost" data-format="text" href={`/api/v1${conversationPath(v.id)}/transcript?format=text`} download>
            Text
          </a>
          <a class="button ghost" data-format="html" href={`/api/v1${conversationPath(v.id)}/transcript?format=html`} download>
            HTML
          </a>
        </div>
      )}
      <MessageList chat={chat} me={s.user?.id ?? ""} desk={desk} />
      {chat.typing && v.state === "active" && <p class="typing">{colleague ? v.peer?.display_name : v.customer.display_name} is typing…</p>}
      {v.state === "active" && <Composer desk={desk} id={v.id} />}
      {v.state === "wrap_up" && <WrapUpPanel s={s} desk={desk} v={v} />}
    </article>
  );
}

function TitleBar({ v }: { v: Conversation }) {
  const now = useNow();
  if (v.kind === "internal") {
    return (
      <header class="titlebar">
        <h3>{v.peer?.display_name ?? "Colleague"}</h3>
        <p class="muted">Team chat · {peerLine(v)}</p>
      </header>
    );
  }
  if (v.kind === "expert") {
    return (
      <header class="titlebar">
        <h3>
          <span class={cls("dot", `presence-${v.peer?.state ?? "unknown"}`)} /> {v.peer?.display_name ?? "Expert"}
        </h3>
        <p class="muted">{peerLine(v)}</p>
      </header>
    );
  }
  const c = v.customer;
  const known = !!(c.nickname || fullName(c) || c.email);
  return (
    <header class="titlebar">
      <h3>
        {known ? (
          <>
            {c.nickname && <span class="nick">{c.nickname}</span>}
            {fullName(c) && <span class="full">{fullName(c)}</span>}
            {c.email && <span class="email">{c.email}</span>}
          </>
        ) : (
          <span class="txn">Transaction {v.id}</span>
        )}
      </h3>
      <p class="muted">
        {channelLabel(v.channel)} · queue {v.queue}
        {v.language ? ` · ${v.language}` : ""} · {v.state === "wrap_up" ? "post-processing" : `chatting ${since(v.assigned_at ?? v.created_at, now)}`}
      </p>
    </header>
  );
}

function MessageList({ chat, me, desk }: { chat: Chat; me: string; desk: Desk }) {
  const ref = useRef<HTMLOListElement>(null);
  const stick = useRef(true);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [chat.messages.length, chat.pending.length]);
  const onScroll = () => {
    const el = ref.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  };
  return (
    <ol class="messages" ref={ref} onScroll={onScroll} aria-live="polite">
      {!chat.loaded && <li class="system">Loading…</li>}
      {chat.loaded && chat.view.kind === "expert" && chat.messages.length > 0 && chat.messages[0].seq > 1 && (
        <li class="system history-note">Earlier messages are in the transcript (Save transcript).</li>
      )}
      {chat.messages.map((m) => (
        <MessageItem key={m.seq} m={m} mine={m.sender_kind === "agent" && m.sender_id === me} customer={chat.view.customer.display_name} />
      ))}
      {chat.pending.map((p) => (
        <PendingItem key={p.clientId} p={p} retry={() => desk.retrySend(chat.view.id, p.clientId)} />
      ))}
    </ol>
  );
}

function MessageItem({ m, mine, customer }: { m: Message; mine: boolean; customer: string }) {
  return (
    <li class={cls("msg", m.sender_kind, mine && "mine")} data-seq={m.seq}>
      {m.sender_kind !== "system" && (
        <div class="meta">
          <span class="from">{mine ? "You" : m.sender_name || (m.sender_kind === "customer" ? customer : m.sender_kind)}</span>
          <time dateTime={m.created_at}>{clock(m.created_at)}</time>
          {m.delivery && <Delivery m={m} />}
        </div>
      )}
      <SafeHTML class="body" html={m.html} />
      {m.delivery === "failed" && <p class="delivery-reason">{m.delivery_reason || "The customer's platform refused it."}</p>}
      {m.attachments?.map((a) => (
        <a class="attachment" href={safeURL(a.url)} download={a.name} rel="noopener noreferrer" target="_blank">
          📎 {a.name} <small>({Math.ceil(a.size / 1024)} KiB)</small>
        </a>
      ))}
    </li>
  );
}

const deliveryText = { sent: "Sent", delivered: "Delivered", read: "Read", failed: "Not delivered" };

// Delivery shows what the customer's platform reported about an agent's message.
function Delivery({ m }: { m: Message }) {
  const d = m.delivery!;
  return (
    <span class={cls("delivery", d)} title={m.delivery_reason || deliveryText[d]}>
      {d === "failed" ? `✗ ${deliveryText[d]}` : `${d === "sent" ? "✓" : "✓✓"} ${deliveryText[d]}`}
    </span>
  );
}

// safeURL lets through only web addresses and the hub's own paths: an attachment's URL comes
// from outside.
function safeURL(url?: string): string | undefined {
  return url && /^(https?:\/\/|\/(?!\/))/i.test(url) ? url : undefined;
}

function PendingItem({ p, retry }: { p: PendingMessage; retry: () => void }) {
  return (
    <li class={cls("msg", "agent", "mine", "pending", p.failed && "failed")}>
      <div class="meta">
        <span class="from">You</span>
        <span>{p.failed ? "not sent" : "sending…"}</span>
      </div>
      <SafeHTML class="body" html={p.html} />
      {p.failed && (
        <p class="error">
          {p.failed}{" "}
          <button type="button" class="link" onClick={retry}>
            Retry
          </button>
        </p>
      )}
    </li>
  );
}

const blank = (el: HTMLElement | null) => !el || (!el.textContent?.trim() && !el.querySelector("li"));

// Composer edits rich text; the hub receives its HTML and sanitizes it before anyone sees it.
function Composer({ desk, id }: { desk: Desk; id: string }) {
  const ed = useRef<HTMLDivElement>(null);
  const saved = useRef<Range | null>(null);
  const [link, setLink] = useState<string | null>(null);
  const [empty, setEmpty] = useState(true);

  const keep = () => {
    const sel = getSelection();
    if (sel && sel.rangeCount && ed.current?.contains(sel.anchorNode)) saved.current = sel.getRangeAt(0).cloneRange();
  };
  const restore = () => {
    ed.current?.focus();
    const sel = getSelection();
    if (saved.current && sel) {
      sel.removeAllRanges();
      sel.addRange(saved.current);
    }
  };
  const exec = (cmd: string, value?: string) => {
    // The toolbar keeps the editor's focus and selection; only the link form takes them away.
    if (document.activeElement !== ed.current) restore();
    document.execCommand(cmd, false, value);
    keep();
    setEmpty(blank(ed.current));
  };
  const code = () => {
    if (document.activeElement !== ed.current) restore();
    const sel = getSelection();
    if (!sel || !sel.rangeCount || sel.isCollapsed) return;
    const r = sel.getRangeAt(0);
    const el = document.createElement("code");
    el.appendChild(r.extractContents());
    r.insertNode(el);
    sel.collapse(el, el.childNodes.length);
    keep();
  };
  const send = () => {
    const el = ed.current;
    if (!el || !el.textContent?.trim()) return;
    // An Enter at the end of a list leaves an empty item behind, and editing leaves empty lines
    // around the text.
    el.querySelectorAll("li").forEach((li) => !li.textContent?.trim() && li.remove());
    const empty = (n: ChildNode | null) => !!n && (n.nodeName === "BR" || (!n.textContent?.trim() && !(n as Element).querySelector?.("li")));
    while (empty(el.firstChild)) el.firstChild!.remove();
    while (empty(el.lastChild)) el.lastChild!.remove();
    const html = el.innerHTML;
    const text = el.innerText;
    el.innerHTML = "";
    setEmpty(true);
    desk.send(id, html, text);
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key !== "Enter" || e.shiftKey) return;
    const inList = (getSelection()?.anchorNode as Node | null)?.parentElement?.closest("li");
    if (inList && !(e.ctrlKey || e.metaKey)) return; // a new list item
    e.preventDefault();
    send();
  };
  const applyLink = (e: Event) => {
    e.preventDefault();
    const url = (link ?? "").trim();
    setLink(null);
    if (/^(https?:\/\/|mailto:)/i.test(url)) exec("createLink", url);
    else desk.notice("A link must start with https://, http:// or mailto:");
  };
  useEffect(() => {
    const onSel = () => keep();
    document.addEventListener("selectionchange", onSel);
    return () => document.removeEventListener("selectionchange", onSel);
  }, []);
  const tool = (label: string | JSX.Element, title: string, fn: () => void, name: string) => (
    <button type="button" class="tool" title={title} aria-label={title} data-tool={name} onMouseDown={(e) => e.preventDefault()} onClick={fn}>
      {label}
    </button>
  );
  return (
    <div class="composer">
      <div class="toolbar" role="toolbar" aria-label="Formatting">
        {tool("B", "Bold (Ctrl+B)", () => exec("bold"), "bold")}
        {tool("I", "Italic (Ctrl+I)", () => exec("italic"), "italic")}
        {tool("•", "Bulleted list", () => exec("insertUnorderedList"), "ul")}
        {tool("1.", "Numbered list", () => exec("insertOrderedList"), "ol")}
        {tool(<LinkIcon />, "Link", () => setLink(""), "link")}
        {tool("</>", "Code", code, "code")}
      </div>
      {link !== null && (
        <form class="link-form" onSubmit={applyLink}>
          <input type="url" placeholder="https://…" value={link} autofocus onInput={(e) => setLink((e.currentTarget as HTMLInputElement).value)} />
          <button class="ghost">Add link</button>
          <button type="button" class="link" onClick={() => setLink(null)}>
            Cancel
          </button>
        </form>
      )}
      <div class="editor-row">
        <div class="editor-wrap">
        {empty && <span class="placeholder">Reply…</span>}
        <div
          ref={ed}
          class="editor"
          contentEditable
          role="textbox"
          aria-multiline="true"
          aria-label="Message"
          title="Enter sends; Shift+Enter adds a line"
          onKeyDown={onKey}
          onInput={() => {
            setEmpty(blank(ed.current));
            desk.typed(id);
          }}
        />
        </div>
        <button type="button" class="primary send" onClick={send} disabled={empty}>
          Send
        </button>
      </div>
    </div>
  );
}

function TransferPanel({ s, desk, v, done }: { s: State; desk: Desk; v: Conversation; done: () => void }) {
  const [agents, setAgents] = useState<AgentInfo[]>([]);
  const [target, setTarget] = useState("");
  useEffect(() => {
    api<{ agents: AgentInfo[] }>("GET", "/agents")
      .then((r) => setAgents(r.agents.filter((a) => a.id !== s.user?.id && a.role !== "admin")))
      .catch((e) => desk.notice(e));
  }, []);
  const go = async (e: Event) => {
    e.preventDefault();
    const [kind, name] = target.split(":");
    try {
      await desk.transfer(v.id, kind === "queue" ? { queue: name } : { agent: name });
      desk.notice(kind === "queue" ? `Transferred to queue ${name}.` : `Offered to ${name}; the chat stays with you until they accept.`);
      done();
    } catch (err) {
      desk.notice(err);
    }
  };
  return (
    <form class="drawer transfer" onSubmit={go}>
      <label>
        Transfer to
        <select required value={target} onChange={(e) => setTarget((e.currentTarget as HTMLSelectElement).value)} name="target">
          <option value="">Choose a queue or an agent…</option>
          <optgroup label="Queues">
            {s.directory?.queues.filter((q) => q.id !== v.queue).map((q) => <option value={`queue:${q.id}`}>{q.name}</option>)}
          </optgroup>
          <optgroup label="Agents">
            {agents.map((a) => (
              <option value={`agent:${a.username}`} disabled={a.state !== "available"}>
                {a.display_name} — {stateLabels[a.state]} ({a.load}/{a.max_chats})
              </option>
            ))}
          </optgroup>
        </select>
      </label>
      <button class="primary" disabled={!target}>
        Transfer
      </button>
    </form>
  );
}

function WrapUpPanel({ s, desk, v }: { s: State; desk: Desk; v: Conversation }) {
  const [disposition, setDisposition] = useState(v.disposition ?? "");
  const [notes, setNotes] = useState(v.notes ?? "");
  const submit = (e: Event) => {
    e.preventDefault();
    desk.wrapUp(v.id, disposition, notes).catch((err) => desk.notice(err));
  };
  return (
    <form class="wrapup" onSubmit={submit} aria-label="Post-processing">
      <h4>Post-processing</h4>
      <label>
        Disposition
        <select name="disposition" value={disposition} onChange={(e) => setDisposition((e.currentTarget as HTMLSelectElement).value)}>
          <option value="">—</option>
          {(s.directory?.dispositions ?? []).map((d) => <option value={d}>{d}</option>)}
        </select>
      </label>
      <label>
        Notes
        <textarea name="notes" rows={3} maxLength={10000} value={notes} onInput={(e) => setNotes((e.currentTarget as HTMLTextAreaElement).value)} />
      </label>
      <button class="primary" data-action="wrapup">End post-processing</button>
    </form>
  );
}
