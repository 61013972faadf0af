import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '~/server/routers/index.ts';

export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type RouterInputs = inferRouterInputs<AppRouter>;

export type HostFilter = NonNullable<RouterInputs['fleet']['hosts']['filter']>;
export type FleetRow = RouterOutputs['fleet']['hosts']['items'][number];
export type HostDetail = RouterOutputs['fleet']['host'];
export type JobDetail = RouterOutputs['jobs']['get'];
export type BuildDetail = RouterOutputs['builds']['get'];
