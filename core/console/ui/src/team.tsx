import type { AgentInfo } from "./api";
import type { Desk } from "./desk";
import type { State } from "./state";
import { cls, reasonText, stateLabels, usePoll } from "./util";

// TeamView lists the colleagues the user may chat with: their functional group, or every group
// for supervisors.
export function TeamView({ s, desk }: { s: State; desk: Desk }) {
  const agents = useAgents(desk);
  const groups = [...new Set(agents.map((a) => a.group))].sort();
  return (
    <section class="team-view">
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
