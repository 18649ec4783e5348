// The console API's types and a fetch wrapper that sends the session's CSRF token.

export type AgentState = "available" | "on_break" | "work_offline" | "logged_out";

export interface User {
  id: string;
  tenant: string;
  username: string;
  display_name: string;
  role: "agent" | "supervisor" | "admin";
  group: string;
  max_chats: number;
  state: AgentState;
  state_reason?: string;
}

export interface Customer {
  id?: string;
  display_name: string;
  nickname?: string;
  first_name?: string;
  last_name?: string;
  email?: string;
  phone?: string;
  account_number?: string;
}

// Peer is the other side of a chat between colleagues: an agent (state is their routing state)
// or, with kind "expert", an expert on a bridge (state is their presence there).
export interface Peer {
  kind?: "expert";
  id: string;
  username?: string;
  display_name: string;
  state?: string;
  platform?: string;
}

export type Presence = "online" | "away" | "offline" | "unknown";

export interface Expert {
  instance: string;
  platform: string;
  id: string;
  display_name: string;
  state: Presence;
  conversation_id?: string;
}

export interface Conversation {
  id: string;
  kind: "customer" | "internal" | "expert";
  state: "queued" | "active" | "wrap_up" | "closed";
  channel: string;
  instance: string;
  queue: string;
  language?: string;
  origin?: string;
  customer: Customer;
  peer?: Peer;
  agent_id?: string;
  agent_name?: string;
  prechat?: { question: string; answer: string }[];
  created_at: string;
  entered_queue_at: string;
  assigned_at?: string;
  ended_at?: string;
  closed_at?: string;
  last_seq: number;
  disposition?: string;
  notes?: string;
  waiting_since?: string;
  past_sla?: boolean;
  unread?: number;
}

export interface Attachment {
  name: string;
  content_type: string;
  size: number;
  url?: string;
}

export interface Message {
  seq: number;
  id: string;
  sender_kind: "customer" | "agent" | "expert" | "system";
  sender_id?: string;
  sender_name: string;
  text: string;
  html: string;
  attachments?: Attachment[];
  created_at: string;
  client_id?: string;
  // What the customer's platform reported about an agent's message.
  delivery?: "sent" | "delivered" | "read" | "failed";
  delivery_reason?: string;
}

export interface Offer {
  conversation: Conversation;
  expires_at: string;
  expires_in_ms: number;
  waited_ms?: number;
}

export interface Snapshot {
  user: User;
  conversations: Conversation[];
  offers: Offer[];
}

export interface Directory {
  queues: { id: string; name: string; group: string }[];
  groups: { id: string; name: string }[];
  dispositions: string[];
}

export interface AgentInfo {
  id: string;
  username: string;
  display_name: string;
  role: string;
  group: string;
  state: AgentState;
  state_reason?: string;
  state_since?: string;
  load: number;
  max_chats: number;
}

export interface QueueInfo {
  id: string;
  name: string;
  group: string;
  waiting: number;
  longest_wait_seconds: number;
  active: number;
  past_sla: number;
  sla_breaches: number;
  agents_available: number;
}

export interface Supervision {
  scope: string;
  queues: QueueInfo[];
  agents: AgentInfo[];
}

export interface Case {
  id: string;
  customer_id: string;
  conversation_id?: string;
  subject: string;
  notes?: string;
  status: string;
  created_by?: string;
  created_at: string;
}

export interface CustomerCard {
  customer: Customer & { id: string; language?: string; created_at: string };
  cases: Case[];
  conversations: Conversation[];
}

export type Push =
  | { type: "hello"; snapshot: Snapshot }
  | { type: "offer"; offer: Offer }
  | { type: "offer_revoked"; conversation_id: string; reason?: string }
  | { type: "conversation"; conversation_id: string; conversation: Conversation }
  | { type: "conversation_gone"; conversation_id: string; reason?: string }
  | { type: "message"; conversation_id: string; message: Message }
  | { type: "typing"; conversation_id: string; active: boolean; from?: string }
  | { type: "state"; state: AgentState; reason?: string }
  | { type: "delivery"; conversation_id: string; event_id: string; status: string; reason?: string; message?: Message }
  | { type: "sla"; conversation_id: string; conversation?: Conversation }
  | { type: "transfer_returned"; conversation_id: string; reason?: string; conversation?: Conversation };

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

let csrf = "";

export function setCSRF(token: string) {
  csrf = token;
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch("/api/v1" + path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? { "X-CSRF-Token": csrf } : { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  let data: any = null;
  try {
    data = await res.json();
  } catch {
    // A proxy's error page: report the status below.
  }
  if (!res.ok) throw new ApiError(res.status, data?.error ?? `${res.status} ${res.statusText}`);
  return data as T;
}

export const conversationPath = (id: string) => "/conversations/" + encodeURIComponent(id);
