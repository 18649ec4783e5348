import { useEffect, useState } from "preact/hooks";
import { api, type AgentState, type Conversation, type Customer } from "./api";

// useNow re-renders the component every interval and returns the current time in ms.
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0");
  return (h ? `${h}:` : "") + `${mm}:${String(sec).padStart(2, "0")}`;
}

export function since(iso: string | undefined, now: number): string {
  return iso ? duration(now - Date.parse(iso)) : "";
}

export function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function dateTime(iso: string): string {
  return new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

export const stateLabels: Record<AgentState, string> = {
  available: "Available",
  on_break: "On Break",
  work_offline: "Work Offline",
  logged_out: "Logged out",
};

// fullName is the customer's first and last name, or "".
export function fullName(c: Customer): string {
  return [c.first_name, c.last_name].filter(Boolean).join(" ");
}

// chatTitle names a chat: the colleague for agent-to-agent chats, the customer otherwise.
export function chatTitle(v: Conversation): string {
  if (v.kind === "internal") return v.peer?.display_name ?? "Colleague";
  if (v.kind === "expert") return v.peer?.display_name ?? "Expert";
  return v.customer.display_name;
}

export function channelLabel(channel: string): string {
  const names: Record<string, string> = {
    webchat: "Web chat",
    sms: "SMS",
    social: "Social",
    telegram: "Telegram",
    whatsapp: "WhatsApp",
    messenger: "Messenger",
    internal: "Team",
    matrix: "Matrix",
    mattermost: "Mattermost",
    slack: "Slack",
  };
  return names[channel] ?? channel;
}

export function cls(...names: (string | false | null | undefined)[]): string {
  return names.filter(Boolean).join(" ");
}

// newId is a random id for idempotent sends. crypto.randomUUID needs a secure context; a console
// reached over plain http on a LAN address is not one.
export function newId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// reasonText says in words why the hub changed the agent's state.
export function reasonText(reason: string): string {
  const texts: Record<string, string> = {
    missed_offers_limit: "Set by the system after missed offers",
    reconfigured: "Changed by an administrator",
  };
  return texts[reason] ?? reason.replace(/_/g, " ");
}

// usePoll fetches path now and every intervalMs while the component is shown; errors go to
// onError.
export function usePoll<T>(path: string, intervalMs: number, onError: (err: unknown) => void): T | null {
  const [data, setData] = useState<T | null>(null);
  useEffect(() => {
    let live = true;
    const load = () =>
      api<T>("GET", path)
        .then((r) => live && setData(r))
        .catch((e) => live && onError(e));
    load();
    const t = setInterval(load, intervalMs);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [path, intervalMs]);
  return data;
}

export const presenceLabels: Record<string, string> = {
  online: "Online",
  away: "Away",
  offline: "Offline",
  unknown: "Presence unknown",
};

// peerLine describes the other side of a chat between colleagues.
export function peerLine(v: Conversation): string {
  if (v.kind === "expert") return `${channelLabel(v.channel)} expert · ${presenceLabels[v.peer?.state ?? "unknown"] ?? v.peer?.state}`;
  return stateLabels[(v.peer?.state ?? "logged_out") as AgentState];
}
