/**
 * The facts an agent reports (agentFactsSchema of @binfleet/agent-contract), read defensively: older agents or hosts
 * without Docker leave parts out, and the server stores them as JSON.
 */
export interface FactsView {
  agentVersion?: string;
  inUserNamespace?: boolean;
  binfmt?: { mountPoint?: string; mounted?: boolean; writable?: boolean; namespaced?: boolean };
  docker?: { reachable?: boolean; version?: string; apiVersion?: string; error?: string };
  interpreters: { target: string; path: string; version?: string; package?: string; error?: string }[];
}

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

export function factsOf(raw: unknown): FactsView {
  const f = obj(raw) ?? {};
  const interpreters = Array.isArray(f.interpreters)
    ? f.interpreters.map(obj).filter((i): i is Record<string, unknown> => Boolean(i?.target && i.path))
    : [];
  return {
    ...(typeof f.agentVersion === 'string' ? { agentVersion: f.agentVersion } : {}),
    ...(typeof f.inUserNamespace === 'boolean' ? { inUserNamespace: f.inUserNamespace } : {}),
    ...(obj(f.binfmt) ? { binfmt: obj(f.binfmt) as FactsView['binfmt'] } : {}),
    ...(obj(f.docker) ? { docker: obj(f.docker) as FactsView['docker'] } : {}),
    interpreters: interpreters as unknown as FactsView['interpreters'],
  };
}
