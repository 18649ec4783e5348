import { useState } from "preact/hooks";
import type { Desk } from "./desk";
import type { LocalOffer, State } from "./state";
import { channelLabel, duration, fullName, useNow } from "./util";

// OfferDialog shows the chats offered to the agent, each with a countdown until it goes to the
// next agent.
export function OfferDialog({ s, desk }: { s: State; desk: Desk }) {
  const now = useNow(250);
  return (
    <div class="overlay">
      <div class="dialog offer" role="alertdialog" aria-labelledby="offer-title" id="offers">
        <h2 id="offer-title">Incoming chat</h2>
        {s.offers.map((o) => (
          <OfferCard key={o.conversation.id} o={o} now={now} desk={desk} />
        ))}
      </div>
    </div>
  );
}

function OfferCard({ o, now, desk }: { o: LocalOffer; now: number; desk: Desk }) {
  const [busy, setBusy] = useState(false);
  const v = o.conversation;
  const left = Math.max(0, o.deadline - now);
  const total = Math.max(1, o.deadline - o.receivedAt);
  const waited = (o.waited_ms ?? 0) + (now - o.receivedAt);
  const act = (fn: (id: string) => Promise<void>) => async () => {
    setBusy(true);
    try {
      await fn(v.id);
    } catch (err) {
      desk.notice(err);
      desk.store.removeOffer(v.id);
    }
  };
  const c = v.customer;
  return (
    <section class="offer-card" data-id={v.id}>
      <dl class="facts">
        <dt>Customer</dt>
        <dd class="offer-customer">
          {c.display_name}
          {fullName(c) && fullName(c) !== c.display_name ? ` (${fullName(c)})` : ""}
          {c.email && <small> · {c.email}</small>}
        </dd>
        <dt>Channel</dt>
        <dd class="offer-channel">{channelLabel(v.channel)}</dd>
        <dt>Queue</dt>
        <dd class="offer-queue">{v.queue}</dd>
        <dt>Language</dt>
        <dd class="offer-language">{v.language || "—"}</dd>
        <dt>Waiting</dt>
        <dd class="offer-wait">{duration(waited)}</dd>
      </dl>
      {v.prechat && v.prechat.length > 0 && (
        <ul class="prechat">
          {v.prechat.map((a) => (
            <li>
              <span class="muted">{a.question}:</span> {a.answer}
            </li>
          ))}
        </ul>
      )}
      <div class="countdown" aria-label={`${Math.ceil(left / 1000)} seconds left`}>
        <progress max={total} value={left} />
        <span class="secs">{Math.ceil(left / 1000)} s</span>
      </div>
      <div class="buttons">
        <button type="button" class="ghost" data-action="reject" disabled={busy} onClick={act((id) => desk.reject(id))}>
          Reject
        </button>
        <button type="button" class="primary" data-action="accept" disabled={busy} onClick={act((id) => desk.accept(id))}>
          Accept
        </button>
      </div>
    </section>
  );
}
