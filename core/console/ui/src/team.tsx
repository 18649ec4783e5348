import type { AgentInfo, Expert } from "./api";
import type { Desk } from "./desk";
import type { State } from "./state";
import { channelLabel, cls, presenceLabels, reasonText, stateLabels, usePoll } from "./util";

// TeamView lists the colleagues the user may chat with: their functional group, or every group
// for supervisors.
export function TeamView({ s, desk }: { s: State; desk: Desk }) {
  const agents = useAgents(desk);
  const groups = [...new Set(agents.map((a) => a.group))].sort();
  return (
    <section class="team-view">
      <Experts desk={desk} />
      {groups.map((g) => (
        <div class="card">
          <h2>Group {g}</h2>
          <table class="table agents" id={`agents-${g}`}>
            <thead>
              <tr>
                <th>Agent</th>
                <th>State</th>
                <th>Load</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {agents
                .filter((a) => a.group === g)
                .map((a) => (
                  <tr data-username={a.username} class="agent-row">
                    <td>
                      {a.display_name} <small class="muted">@{a.username}{a.role !== "agent" ? ` · ${a.role}` : ""}</small>
                    </td>
                    <td>
                      <span class={cls("dot", `state-${a.state}`)} /> {stateLabels[a.state]}
                      {a.state_reason && <small class="muted"> · {reasonText(a.state_reason)}</small>}
                    </td>
                    <td>
                      <Load a={a} />
                    </td>
                    <td>
                      {a.id !== s.user?.id && (
                        <button type="button" class="ghost" data-action="start-chat" onClick={() => desk.startChat(a.username).catch((e) => desk.notice(e))}>
                          Start chat
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      ))}
    </section>
  );
}

export function Load({ a }: { a: AgentInfo }) {
  const max = Math.max(1, a.max_chats);
  return (
    <span class="load" title={`${a.load} of ${a.max_chats} chats`}>
      <meter min={0} max={max} value={a.load} low={max * 0.6} high={max * 0.99} optimum={0} />
      <small>
        {a.load}/{a.max_chats}
      </small>
    </span>
  );
}

// useAgents polls the agent list while the component is shown.
export function useAgents(desk: Desk): AgentInfo[] {
  return usePoll<{ agents: AgentInfo[] }>("/agents", 3000, (e) => desk.notice(e))?.agents ?? [];
}

// Experts lists the experts the tenant's bridges report (Matrix, Mattermost, Slack), with their
// presence there; Chat opens the one chat with each.
function Experts({ desk }: { desk: Desk }) {
  const experts = usePoll<{ experts: Expert[] }>("/experts", 3000, (e) => desk.notice(e))?.experts;
  if (!experts) return null;
  return (
    <div class="card">
      <h2>Experts</h2>
      {experts.length === 0 ? (
        <p class="muted">No expert bridge reports anyone yet.</p>
      ) : (
        <table class="table experts" id="experts">
          <thead>
            <tr>
              <th>Expert</th>
              <th>Presence</th>
              <th>Reached through</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {experts.map((x) => (
              <tr data-expert={x.id} class="expert-row">
                <td>
                  {x.display_name} <small class="muted">{x.id}</small>
                </td>
                <td>
                  <span class={cls("dot", `presence-${x.state}`)} /> {presenceLabels[x.state] ?? x.state}
                </td>
                <td>{channelLabel(x.platform)}</td>
                <td>
                  <button
                    type="button"
                    class="ghost"
                    data-action="expert-chat"
                    onClick={() => (x.conversation_id ? desk.open(x.conversation_id) : desk.startExpertChat(x.instance, x.id)).catch((e) => desk.notice(e))}
                  >
                    {x.conversation_id ? "Open chat" : "Chat"}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
