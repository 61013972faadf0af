import { router } from '../trpc.ts';
import { auditRouter, policyRouter, tokensRouter } from './admin.ts';
import { agentApiRouter } from './agent-api.ts';
import { authRouter } from './auth.ts';
import { buildsRouter } from './builds.ts';
import { catalogueRouter, registriesRouter } from './catalogue.ts';
import { fleetRouter } from './fleet.ts';
import { installRouter, settingsRouter } from './install.ts';
import { jobsRouter } from './jobs.ts';
import { plansRouter } from './plans.ts';

export const appRouter = router({
  auth: authRouter,
  fleet: fleetRouter,
  jobs: jobsRouter,
  policy: policyRouter,
  plans: plansRouter,
  tokens: tokensRouter,
  install: installRouter,
  settings: settingsRouter,
  audit: auditRouter,
  agentApi: agentApiRouter,
  registries: registriesRouter,
  catalogue: catalogueRouter,
  builds: buildsRouter,
});

export type AppRouter = typeof appRouter;
