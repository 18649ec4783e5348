import { useEffect, useState } from "preact/hooks";
import { api, conversationPath, type Conversation, type Message, type Supervision } from "./api";
import type { Desk } from "./desk";
import { SafeHTML } from "./html";
import type { State } from "./state";
import { Load } from "./team";
import { channelLabel, clock, cls, dateTime, duration, reasonText, since, stateLabels, useNow, usePoll } from "./util";

const states = ["available", "on_break", "work_offline", "logged_out"] as const;

// SupervisorView shows the queues and agents of the supervisor's scope live, and the transcripts
// of finished chats in that scope.
export function SupervisorView({ desk }: { desk: Desk; s: State }) {
  const sup = usePoll<Supervision>("/supervisor", 2000, (e) => desk.notice(e));
  const now = useNow();
  if (!sup) return <p class="muted pad">Loading…</p>;
  return (
    <div class="supervisor">
      <p class="muted scope">Scope: {sup.scope}</p>
      <section class="card">
        <h2>Queues</h2>
        <table class="table" id="sup-queues">
          <thead>
            <tr>
              <th>Queue</th>
              <th>Group</th>
              <th class="num">Waiting</th>
              <th class="num">Longest wait</th>
              <th class="num">Active chats</th>
              <th class="num">Past SLA now</th>
              <th class="num">SLA breaches</th>
              <th class="num">Agents available</th>
            </tr>
          </thead>
          <tbody>
            {sup.queues.map((q) => (
              <tr data-queue={q.id}>
                <td>{q.name}</td>
                <td>{q.group}</td>
                <td class={cls("num", "waiting", q.waiting > 0 && "hot")}>{q.waiting}</td>
                <td class="num">{q.waiting ? duration(q.longest_wait_seconds * 1000) : "—"}</td>
                <td class="num">{q.active}</td>
                <td class={cls("num", q.past_sla > 0 && "late")}>{q.past_sla}</td>
                <td class="num breaches">{q.sla_breaches}</td>
                <td class="num">{q.agents_available}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="card">
        <h2>Agents</h2>
        <div class="state-columns" id="sup-agents">
          {states.map((st) => {
            const list = sup.agents.filter((a) => a.state === st);
            return (
              <div class="state-column">
                <h3>
                  <span class={cls("dot", `state-${st}`)} /> {stateLabels[st]} <span class="muted">{list.length}</span>
                </h3>
                <ul class="list">
                  {list.map((a) => (
                    <li data-username={a.username} class="agent-row">
                      <span>
                        {a.display_name} <small class="muted">{a.group}</small>
                      </span>
                      {st !== "logged_out" && <Load a={a} />}
                      {a.state_since && <small class="muted">{since(a.state_since, now)}</small>}
                      {a.state_reason && <small class="reason">{reasonText(a.state_reason)}</small>}
                    </li>
                  ))}
                </ul>
              </div>
            );
          })}
        </div>
      </section>
      <Transcripts desk={desk} />
    </div>
  );
}

function Transcripts({ desk }: { desk: Desk }) {
  const [list, setList] = useState<Conversation[]>([]);
  const [shown, setShown] = useState<{ v: Conversation; messages: Message[] } | null>(null);
  const load = () =>
    api<{ conversations: Conversation[] }>("GET", "/transcripts?limit=50")
      .then((r) => setList(r.conversations))
      .catch((e) => desk.notice(e));
  useEffect(() => {
    load();
  }, []);
  const open = async (v: Conversation) => {
    try {
      const r = await api<{ messages: Message[] }>("GET", `${conversationPath(v.id)}/messages?after=0&limit=500`);
      setShown({ v, messages: r.messages });
    } catch (err) {
      desk.notice(err);
    }
  };
  return (
    <section class="card">
      <h2>
        Finished chats
        <button type="button" class="link" onClick={load}>
          Refresh
        </button>
      </h2>
      <table class="table" id="transcripts">
        <thead>
          <tr>
            <th>Closed</th>
            <th>Customer</th>
            <th>Channel</th>
            <th>Queue</th>
            <th>Agent</th>
            <th>Disposition</th>
          </tr>
        </thead>
        <tbody>
          {list.map((v) => (
            <tr class="transcript-row" data-id={v.id} onClick={() => open(v)} tabIndex={0}>
              <td>{v.closed_at ? dateTime(v.closed_at) : ""}</td>
              <td>{v.customer.display_name}</td>
              <td>{channelLabel(v.channel)}</td>
              <td>{v.queue}</td>
              <td>{v.agent_name}</td>
              <td>{v.disposition}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.length === 0 && <p class="muted pad">No finished chats in your scope yet.</p>}
      {shown && (
        <div class="overlay" onClick={(e: MouseEvent) => e.target === e.currentTarget && setShown(null)}>
          <div class="dialog transcript" role="dialog" aria-label="Transcript" id="transcript-view">
            <header class="titlebar">
              <h3>{shown.v.customer.display_name}</h3>
              <p class="muted">
                {channelLabel(shown.v.channel)} · {shown.v.queue} · {shown.v.agent_name} · {shown.v.disposition}
              </p>
            </header>
            <ol class="messages">
              {shown.messages.map((m) => (
                <li class={cls("msg", m.sender_kind)}>
                  <div class="meta">
                    <span class="from">{m.sender_name || (m.sender_kind === "customer" ? shown.v.customer.display_name : m.sender_kind)}</span>
                    <time>{clock(m.created_at)}</time>
                  </div>
                  <SafeHTML class="body" html={m.html} />
                </li>
              ))}
            </ol>
            {shown.v.notes && <p class="notes">Notes: {shown.v.notes}</p>}
            <div class="buttons">
              <a class="button ghost" href={`/api/v1${conversationPath(shown.v.id)}/transcript?format=text`} download>
                Text
              </a>
              <a class="button ghost" href={`/api/v1${conversationPath(shown.v.id)}/transcript?format=html`} download>
                HTML
              </a>
              <button type="button" class="primary" onClick={() => setShown(null)}>
                Close
              </button>
            </div>
          </div>
        </div>
      )}
    </section>
  );
}
