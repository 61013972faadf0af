import { agentTransportSchema } from '@binfleet/agent-contract';
import { z } from 'zod';
import { normalizePublicUrl, publicUrlProblem, publicUrlWarning } from '../security/public-url.ts';
import { pinForCode } from '../services/agent-install/tls-pin.ts';
import { actorOf } from '../services/auth.ts';
import { adminProcedure, router } from '../trpc.ts';

const urlInput = z
  .string()
  .trim()
  .max(300)
  .refine((u) => publicUrlProblem(u) === undefined, {
    message: 'an http(s) URL without credentials, query or fragment',
  });

export const settingsRouter = router({
  publicUrl: adminProcedure.query(({ ctx }) => ctx.cp.settings.publicUrl()),
  setPublicUrl: adminProcedure
    .input(z.strictObject({ url: z.string().trim().max(300).nullable() }))
    .mutation(({ ctx, input }) => ctx.cp.settings.setPublicUrl(actorOf(ctx.user), input.url || null)),
});

export const installRouter = router({
  /**
   * A one-time install code and the line that uses it. `browserOrigin` stands in for the public URL
   * while none is set (with a warning).
   */
  createCode: adminProcedure
    .input(
      z.strictObject({
        label: z.string().trim().min(1).max(64),
        expiresInMinutes: z
          .number()
          .int()
          .min(1)
          .max(24 * 60)
          .default(15),
        browserOrigin: urlInput,
        /** How the control plane will reach the host: its agent dials out (no inbound port) by default. */
        transport: agentTransportSchema.default('dial-out'),
      }),
    )
    .mutation(async ({ ctx, input: { transport, ...input } }) => {
      const setting = await ctx.cp.settings.publicUrl();
      const url = setting.url ?? normalizePublicUrl(input.browserOrigin);
      const warning = setting.url ? setting.warning : publicUrlWarning(undefined);
      const loopback = publicUrlWarning(url);
      const release = await ctx.cp.agentRelease.manifest().then(
        (m) => ({ version: m.version, kinds: m.artifacts.map((a) => a.kind) }),
        (error: Error) => ({ problem: error.message }),
      );
      const created = await ctx.cp.hosts.joinTokens.createInstallCode(actorOf(ctx.user), input);
      // Served over TLS with its own certificate: the line pins its public key, and so does the
      // script, from the code (token.pin), for every request it makes.
      const tls = ctx.cp.tlsPin.current();
      const code = tls ? `${created.code}.${pinForCode(tls.pin)}` : created.code;
      const curl = tls ? `curl -fsSLk --pinnedpubkey sha256//${tls.pin}` : 'curl -fsSL';
      const dialOut = transport === 'dial-out' ? ' --dial-out' : '';
      return {
        ...created,
        code,
        publicUrl: url,
        warnings: [warning, loopback].filter((w): w is string => w !== undefined),
        release,
        transport,
        line: `${curl} ${url}/agent/install.sh | sudo sh -s -- --code ${code}${dialOut}`,
      };
    }),
});
