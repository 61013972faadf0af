import { z } from 'zod';
import { ROLES } from '../services/auth.ts';
import {
  adminProcedure,
  deviceCookie,
  publicProcedure,
  router,
  sessionCookie,
  unauthenticatedMutation,
  viewerProcedure,
} from '../trpc.ts';

const credentials = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(256),
});

export const authRouter = router({
  /** Who is signed in (with the CSRF secret the client sends on mutations), and whether setup is needed. */
  me: publicProcedure.query(async ({ ctx }) => ({
    user: ctx.session?.user ?? null,
    csrf: ctx.session?.csrfSecret ?? null,
    needsSetup: ctx.session ? false : await ctx.cp.auth.needsSetup(),
  })),
  setup: unauthenticatedMutation.input(credentials).mutation(async ({ ctx, input }) => {
    const s = await ctx.cp.auth.setup(input.username, input.password);
    ctx.resHeaders.append('set-cookie', sessionCookie(ctx, s.token));
    return { user: s.user, csrf: s.csrfSecret };
  }),
  login: unauthenticatedMutation.input(credentials).mutation(async ({ ctx, input }) => {
    const s = await ctx.cp.auth.login(input.username, input.password, {
      address: ctx.clientAddress,
      deviceCookie: ctx.deviceCookie,
    });
    ctx.resHeaders.append('set-cookie', sessionCookie(ctx, s.token));
    ctx.resHeaders.append('set-cookie', deviceCookie(ctx, s.deviceCookie));
    return { user: s.user, csrf: s.csrfSecret };
  }),
  logout: viewerProcedure.mutation(async ({ ctx }) => {
    await ctx.cp.auth.logout(ctx.session.sessionId, ctx.user);
    ctx.resHeaders.append('set-cookie', sessionCookie(ctx, null));
    return { ok: true };
  }),
  users: adminProcedure.query(({ ctx }) => ctx.cp.auth.listUsers()),
  createUser: adminProcedure
    .input(
      z.strictObject({
        username: z.string().min(1).max(64),
        password: z.string().min(1).max(256),
        role: z.enum(ROLES),
      }),
    )
    .mutation(({ ctx, input }) => ctx.cp.auth.createUser(ctx.user, input)),
  updateUser: adminProcedure
    .input(
      z.strictObject({
        id: z.string().min(1).max(64),
        role: z.enum(ROLES).optional(),
        disabled: z.boolean().optional(),
        password: z.string().min(1).max(256).optional(),
      }),
    )
    .mutation(({ ctx, input }) => ctx.cp.auth.updateUser(ctx.user, input)),
});
