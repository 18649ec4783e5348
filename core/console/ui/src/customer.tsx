import { useEffect, useState } from "preact/hooks";
import { api, conversationPath, type Case, type CustomerCard } from "./api";
import type { Desk } from "./desk";
import type { Chat } from "./state";
import { channelLabel, dateTime } from "./util";

// CustomerPanel is the local CRM's screen pop for the focused customer chat: the matched record
// with its cases and past conversations, or a form to create the customer from the chat.
export function CustomerPanel({ desk, chat }: { desk: Desk; chat: Chat }) {
  const v = chat.view;
  const id = v.customer.id;
  const [card, setCard] = useState<CustomerCard | null>(null);
  useEffect(() => {
    if (!id || card?.customer.id === id) return; // just created here
    setCard(null);
    api<CustomerCard>("GET", `/customers/${encodeURIComponent(id)}`).then(setCard).catch((e) => desk.notice(e));
  }, [id]);
  return (
    <aside class="customer-panel" id="customer" aria-label="Customer">
      <h2>Customer</h2>
      {!id && <NewCustomer desk={desk} chat={chat} onCreated={setCard} />}
      {id && !card && <p class="muted">Loading…</p>}
      {card && <Record card={card} />}
      {card && <Cases desk={desk} card={card} convId={v.id} onAdded={(c) => setCard({ ...card, cases: [c, ...card.cases] })} />}
      {card && <History card={card} current={v.id} />}
      {v.prechat && v.prechat.length > 0 && (
        <section>
          <h3>Pre-chat answers</h3>
          <dl class="facts">
            {v.prechat.map((a) => (
              <>
                <dt>{a.question}</dt>
                <dd>{a.answer}</dd>
              </>
            ))}
          </dl>
        </section>
      )}
    </aside>
  );
}

function Record({ card }: { card: CustomerCard }) {
  const c = card.customer;
  const rows: [string, string | undefined][] = [
    ["Name", [c.first_name, c.last_name].filter(Boolean).join(" ")],
    ["Nickname", c.nickname],
    ["Email", c.email],
    ["Phone", c.phone],
    ["Account", c.account_number],
    ["Language", c.language],
    ["Customer since", dateTime(c.created_at)],
  ];
  return (
    <section class="record" data-customer={c.id}>
      <dl class="facts">
        {rows
          .filter(([, val]) => val)
          .map(([k, val]) => (
            <>
              <dt>{k}</dt>
              <dd>{val}</dd>
            </>
          ))}
      </dl>
    </section>
  );
}

function NewCustomer({ desk, chat, onCreated }: { desk: Desk; chat: Chat; onCreated: (c: CustomerCard) => void }) {
  const c = chat.view.customer;
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const body: Record<string, string> = {};
    for (const k of ["first_name", "last_name", "nickname", "email", "phone", "account_number"]) body[k] = String(f.get(k) ?? "").trim();
    setBusy(true);
    try {
      const card = await api<CustomerCard>("POST", `${conversationPath(chat.view.id)}/customer`, body);
      onCreated(card);
      desk.store.patchChat(chat.view.id, (ch) => ({ view: { ...ch.view, customer: { ...ch.view.customer, ...card.customer } } }));
    } catch (err) {
      desk.notice(err);
    } finally {
      setBusy(false);
    }
  };
  const field = (name: string, label: string, value?: string, type: "text" | "email" | "tel" = "text") => (
    <label>
      {label}
      <input name={name} type={type as "text"} defaultValue={value ?? ""} />
    </label>
  );
  return (
    <form class="new-customer" onSubmit={submit}>
      <p class="muted">No customer record matches this chat.</p>
      <div class="two">
        {field("first_name", "First name", c.first_name)}
        {field("last_name", "Last name", c.last_name)}
      </div>
      {field("nickname", "Nickname", c.nickname)}
      {field("email", "Email", c.email, "email")}
      {field("phone", "Phone", c.phone, "tel")}
      {field("account_number", "Account number", c.account_number)}
      <button class="primary" disabled={busy} data-action="create-customer">
        Create customer
      </button>
    </form>
  );
}

function Cases({ desk, card, convId, onAdded }: { desk: Desk; card: CustomerCard; convId: string; onAdded: (c: Case) => void }) {
  const [adding, setAdding] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    try {
      const c = await api<Case>("POST", `/customers/${encodeURIComponent(card.customer.id)}/cases`, {
        subject: String(f.get("subject")),
        notes: String(f.get("notes") ?? ""),
        conversation_id: convId,
      });
      onAdded(c);
      setAdding(false);
    } catch (err) {
      desk.notice(err);
    }
  };
  return (
    <section class="cases">
      <h3>
        Cases
        {!adding && (
          <button type="button" class="link" data-action="new-case" onClick={() => setAdding(true)}>
            + New case
          </button>
        )}
      </h3>
      {adding && (
        <form class="new-case" onSubmit={submit}>
          <label>
            Subject
            <input name="subject" required maxLength={200} autofocus />
          </label>
          <label>
            Notes
            <textarea name="notes" rows={2} maxLength={10000} />
          </label>
          <div class="buttons">
            <button type="button" class="link" onClick={() => setAdding(false)}>
              Cancel
            </button>
            <button class="primary" data-action="create-case">Create case</button>
          </div>
        </form>
      )}
      <ul class="list" id="cases">
        {card.cases.map((c) => (
          <li class="case">
            <span class={`badge ${c.status}`}>{c.status}</span> {c.subject}
            <small class="muted"> · {dateTime(c.created_at)}</small>
          </li>
        ))}
        {card.cases.length === 0 && !adding && <li class="muted">No cases yet.</li>}
      </ul>
    </section>
  );
}

function History({ card, current }: { card: CustomerCard; current: string }) {
  const past = card.conversations.filter((c) => c.id !== current);
  return (
    <section class="history">
      <h3>Past conversations</h3>
      <ul class="list" id="past-conversations">
        {past.map((c) => (
          <li>
            {dateTime(c.created_at)} · {channelLabel(c.channel)}
            {c.agent_name ? ` · ${c.agent_name}` : ""}
            {c.disposition && <span class="badge">{c.disposition}</span>}
          </li>
        ))}
        {past.length === 0 && <li class="muted">None before this one.</li>}
      </ul>
    </section>
  );
}
