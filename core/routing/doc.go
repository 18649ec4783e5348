// Package routing decides which agent is offered which conversation. Router is the engine:
// events in, decisions out. It is pure (no I/O, no goroutines,
// no clock: every call takes now), deterministic (no decision depends on map order) and not safe
// for concurrent use (the caller serializes). Every mutating method returns the []Decision the
// caller must carry out (valid until the next call); a method that returns an error has changed
// nothing. Deadlines act only in Tick (NextDeadline says when): an offer past its deadline can no
// longer be accepted (ErrOfferExpired) and is withdrawn by the next Tick.
//
// Agents belong to one group in one tenant, are members of zero or more queues (by queue id in
// their tenant), have a primary and any number of secondary languages and a capacity of 1 to 6.
// States are LoggedOut, Available, OnBreak and WorkOffline; only Available agents get offers.
// Load = active customer chats + chats in post-processing + pending offers; the engine never
// offers or assigns beyond capacity (lowering a capacity does not take chats away).
//
// A queue orders its waiting conversations by priority (higher first), then by the time the
// conversation first entered any queue (kept across transfers and overflow), then by id.
// Eligible agents for a conversation are Available, members of its queue, below capacity,
// without a pending offer, and have not rejected or missed (or transferred away) the
// conversation. Among them the engine prefers an agent whose primary language is the
// conversation's, then one who speaks it as a secondary language, then anyone; "anyone" is
// allowed only when the queue allows translation, once the queue's language_wait has passed
// since the conversation entered, or when the conversation has no language. Within a tier the
// default strategy picks the agent who has waited longest since their last assignment or since
// becoming Available (whichever is later), ties by fewest active chats, then agent id; the
// least_busy strategy picks fewest active chats first, then longest waiting, then id.
//
// Offers: one pending offer per conversation and per agent. Accept assigns; reject or
// offer_timeout (per queue, checked by Tick) offers it to the next agent. An agent who misses
// missed_offers_limit offers in a row is moved to OnBreak (DecisionAgentState, reason
// missed_offers_limit). A queue with auto_accept assigns without asking. Whenever an event can
// make an agent eligible or a conversation offerable, the engine offers at once: after every
// call no waiting conversation without an offer has an eligible agent. When several queues
// compete for a freed agent, the queue whose first conversation ranks highest is served first.
// Leaving Available withdraws the agent's offer (agent_unavailable); a change of agent or queue
// settings that no longer allows a pending offer withdraws it (reconfigured). Leave drops a
// waiting conversation (conversation_gone) or ends an active chat.
//
// End puts a chat in post-processing; it still counts in load until EndWrapUp or the queue's
// wrap_up_timeout (zero: no timeout). SLA: for every active chat the engine knows whether the
// customer waits for a reply and since when (ResponseWait): from assignment until the first
// agent message (first_response_target), then from each customer message after an agent reply
// (response_target); DecisionSLABreached is emitted once per wait when the target passes.
//
// Transfers: TransferToQueue re-queues an active chat (keeping its first-entered time; the
// sender is not offered it again); TransferToAgent offers it to a named agent of the same
// tenant while it stays with the sender; on reject or timeout DecisionTransferReturned tells the
// sender. max_wait moves a waiting conversation to the queue's overflow queue (an offered one
// moves when its offer ends). Arrivals at a queue with no member logged in, or outside its
// weekly business hours (in the queue's time zone), get DecisionQueueClosed and do not enter.
// Position gives a waiting conversation's place and an estimate from a moving average of the
// queue's recent waits; HasCapacity says whether an agent could take a chat now.
// Agent-to-agent chats are not routed and do not count in load: the engine never sees them.
//
// Recovery: build a Router, SetQueue every queue, then RestoreAgent, RestoreChat and
// RestoreWaiting from the store; the next Tick handles deadlines that passed and offers every
// waiting conversation again (pending offers are not restored, they are made anew).
//
// Cost: each queue keeps its conversations without an offer in a heap, and its eligible agents
// in sorted sets (all, and per primary and secondary language), so a decision touches the
// heads of the queues of the agent or conversation concerned, never all agents or all
// conversations. Conversations no eligible agent may take (all refused them, or their language
// is not spoken yet) are stepped over; Position counts the queue it is asked about.
package routing
