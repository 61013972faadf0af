import { agentApi as api } from '@binfleet/agent-contract';
import { agentProcedure, contract, router } from './trpc.ts';

// Every procedure of the contract's table: its input parsed before the service runs, its answer
// after, both with zod's synchronous parse (`contract`; router.test.ts checks that the router and
// the table name the same procedures).
export const agentRouter = router({
  facts: agentProcedure
    .input(contract(api.facts.input))
    .output(contract(api.facts.output))
    .query(({ ctx }) => ctx.agent.facts()),
  status: agentProcedure
    .input(contract(api.status.input))
    .output(contract(api.status.output))
    .query(({ ctx }) => ctx.agent.status()),
  applyState: agentProcedure
    .input(contract(api.applyState.input))
    .output(contract(api.applyState.output))
    .mutation(({ ctx, input }) => ctx.agent.apply(input)),
  remove: agentProcedure
    .input(contract(api.remove.input))
    .output(contract(api.remove.output))
    .mutation(({ ctx, input }) => ctx.agent.remove(input.all ? 'all' : (input.targets ?? []))),
  enable: agentProcedure
    .input(contract(api.enable.input))
    .output(contract(api.enable.output))
    .mutation(({ ctx, input }) => ctx.agent.setEnabled(input.targets, true)),
  disable: agentProcedure
    .input(contract(api.disable.input))
    .output(contract(api.disable.output))
    .mutation(({ ctx, input }) => ctx.agent.setEnabled(input.targets, false)),
  verify: agentProcedure
    .input(contract(api.verify.input))
    .output(contract(api.verify.output))
    .mutation(({ ctx, input }) => ctx.agent.verify(input)),
  export: agentProcedure
    .input(contract(api.export.input))
    .output(contract(api.export.output))
    .query(({ ctx, input }) => ctx.agent.export(input)),
  build: agentProcedure
    .input(contract(api.build.input))
    .output(contract(api.build.output))
    .mutation(({ ctx, input }) => ctx.agent.builds.start(input)),
  buildStatus: agentProcedure
    .input(contract(api.buildStatus.input))
    .output(contract(api.buildStatus.output))
    .query(({ ctx, input }) => ctx.agent.builds.get(input.id)),
  buildLog: agentProcedure
    .input(contract(api.buildLog.input))
    .output(contract(api.buildLog.output))
    .query(({ ctx, input }) => ctx.agent.builds.log(input.id, input.from)),
  cancelBuild: agentProcedure
    .input(contract(api.cancelBuild.input))
    .output(contract(api.cancelBuild.output))
    .mutation(({ ctx, input }) => ctx.agent.builds.cancel(input.id)),
  builds: agentProcedure
    .input(contract(api.builds.input))
    .output(contract(api.builds.output))
    .query(({ ctx }) => ctx.agent.builds.list()),
  fetchPackage: agentProcedure
    .input(contract(api.fetchPackage.input))
    .output(contract(api.fetchPackage.output))
    .mutation(({ ctx, input }) => ctx.agent.fetchPackage(input.sha256)),
  upgradeAgent: agentProcedure
    .input(contract(api.upgradeAgent.input))
    .output(contract(api.upgradeAgent.output))
    .mutation(({ ctx, input }) => ctx.agent.upgrades.upgrade(input)),
});

export type AgentRouter = typeof agentRouter;
