import { agentApi as api } from '@binfleet/agent-contract';
import { contractProcedure, router } from './trpc.ts';

// Every procedure of the contract's table: its input parsed before the service runs, its answer
// after (contractProcedure; router.test.ts checks that the router and the table name the same
// procedures).
export const agentRouter = router({
  facts: contractProcedure(api.facts).query(({ ctx }) => ctx.agent.facts()),
  status: contractProcedure(api.status).query(({ ctx }) => ctx.agent.status()),
  applyState: contractProcedure(api.applyState).mutation(({ ctx, input }) => ctx.agent.apply(input)),
  remove: contractProcedure(api.remove).mutation(({ ctx, input }) =>
    ctx.agent.remove(input.all ? 'all' : (input.targets ?? [])),
  ),
  enable: contractProcedure(api.enable).mutation(({ ctx, input }) =>
    ctx.agent.setEnabled(input.targets, true),
  ),
  disable: contractProcedure(api.disable).mutation(({ ctx, input }) =>
    ctx.agent.setEnabled(input.targets, false),
  ),
  verify: contractProcedure(api.verify).mutation(({ ctx, input }) => ctx.agent.verify(input)),
  export: contractProcedure(api.export).query(({ ctx, input }) => ctx.agent.export(input)),
  build: contractProcedure(api.build).mutation(({ ctx, input }) => ctx.agent.builds.start(input)),
  buildStatus: contractProcedure(api.buildStatus).query(({ ctx, input }) => ctx.agent.builds.get(input.id)),
  buildLog: contractProcedure(api.buildLog).query(({ ctx, input }) =>
    ctx.agent.builds.log(input.id, input.from),
  ),
  cancelBuild: contractProcedure(api.cancelBuild).mutation(({ ctx, input }) =>
    ctx.agent.builds.cancel(input.id),
  ),
  builds: contractProcedure(api.builds).query(({ ctx }) => ctx.agent.builds.list()),
  fetchPackage: contractProcedure(api.fetchPackage).mutation(({ ctx, input }) =>
    ctx.agent.fetchPackage(input.sha256),
  ),
  upgradeAgent: contractProcedure(api.upgradeAgent).mutation(({ ctx, input }) =>
    ctx.agent.upgrades.upgrade(input),
  ),
});

export type AgentRouter = typeof agentRouter;
