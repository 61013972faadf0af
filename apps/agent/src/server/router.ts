import { agentApi as api } from '@binfleet/agent-contract';
import { agentProcedure, router } from './trpc.ts';

// Every procedure of the contract's table: its input parsed before the service runs, its answer
// after (router.test.ts checks that the router and the table name the same procedures).
export const agentRouter = router({
  facts: agentProcedure
    .input(api.facts.input)
    .output(api.facts.output)
    .query(({ ctx }) => ctx.agent.facts()),
  status: agentProcedure
    .input(api.status.input)
    .output(api.status.output)
    .query(({ ctx }) => ctx.agent.status()),
  applyState: agentProcedure
    .input(api.applyState.input)
    .output(api.applyState.output)
    .mutation(({ ctx, input }) => ctx.agent.apply(input)),
  remove: agentProcedure
    .input(api.remove.input)
    .output(api.remove.output)
    .mutation(({ ctx, input }) => ctx.agent.remove(input.all ? 'all' : (input.targets ?? []))),
  enable: agentProcedure
    .input(api.enable.input)
    .output(api.enable.output)
    .mutation(({ ctx, input }) => ctx.agent.setEnabled(input.targets, true)),
  disable: agentProcedure
    .input(api.disable.input)
    .output(api.disable.output)
    .mutation(({ ctx, input }) => ctx.agent.setEnabled(input.targets, false)),
  verify: agentProcedure
    .input(api.verify.input)
    .output(api.verify.output)
    .mutation(({ ctx, input }) => ctx.agent.verify(input)),
  export: agentProcedure
    .input(api.export.input)
    .output(api.export.output)
    .query(({ ctx, input }) => ctx.agent.export(input)),
  build: agentProcedure
    .input(api.build.input)
    .output(api.build.output)
    .mutation(({ ctx, input }) => ctx.agent.builds.start(input)),
  buildStatus: agentProcedure
    .input(api.buildStatus.input)
    .output(api.buildStatus.output)
    .query(({ ctx, input }) => ctx.agent.builds.get(input.id)),
  buildLog: agentProcedure
    .input(api.buildLog.input)
    .output(api.buildLog.output)
    .query(({ ctx, input }) => ctx.agent.builds.log(input.id, input.from)),
  cancelBuild: agentProcedure
    .input(api.cancelBuild.input)
    .output(api.cancelBuild.output)
    .mutation(({ ctx, input }) => ctx.agent.builds.cancel(input.id)),
  builds: agentProcedure
    .input(api.builds.input)
    .output(api.builds.output)
    .query(({ ctx }) => ctx.agent.builds.list()),
  fetchPackage: agentProcedure
    .input(api.fetchPackage.input)
    .output(api.fetchPackage.output)
    .mutation(({ ctx, input }) => ctx.agent.fetchPackage(input.sha256)),
  upgradeAgent: agentProcedure
    .input(api.upgradeAgent.input)
    .output(api.upgradeAgent.output)
    .mutation(({ ctx, input }) => ctx.agent.upgrades.upgrade(input)),
});

export type AgentRouter = typeof agentRouter;
