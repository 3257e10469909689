/**
 * The one style of every state machine (protection, restore sessions, jobs): a transition table from
 * each state, by event, to the next state. A missing entry means the event is refused in that state;
 * callers turn a refusal into the documented error for their operation. `deleted` means the entity
 * goes away. States and events are string unions, so an unknown one does not compile.
 */
export type Machine<S extends string, E extends string> = Readonly<Record<S, Readonly<Partial<Record<E, S | 'deleted'>>>>>;

/** The next state, or undefined when `event` is not allowed in `from`. */
export function transition<S extends string, E extends string>(machine: Machine<S, E>, from: S, event: E): S | 'deleted' | undefined {
  return machine[from]?.[event];
}

/** Whether some event leads from `from` to `to` (for a change whose event the caller knows only by its outcome). */
export function leadsTo<S extends string, E extends string>(machine: Machine<S, E>, from: S, to: S): boolean {
  return Object.values(machine[from] ?? {}).includes(to);
}

/** The states from which some event leads to `to`. */
export function statesLeadingTo<S extends string, E extends string>(machine: Machine<S, E>, to: S): S[] {
  return (Object.keys(machine) as S[]).filter((from) => leadsTo(machine, from, to));
}
