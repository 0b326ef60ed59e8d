import * as z from 'zod';
import { tokenJsonSchema } from '../auth/snapshot.ts';
import { gatewayStateSchema } from '../upstream/gateway-state.ts';
import { SETUP_FILE_CLIENTS } from '../clients/setup.ts';

/**
 * The JSON bodies of the proxy's own routes, one schema each: the routes
 * build them, the CLI, the tray and the dashboard read them back with them.
 * Here in ipc/ because they cross a process boundary (the tray and the proxy
 * meet in ipc/, never importing each other). Pure (zod only), so the
 * dashboard's page bundles them. `/usage` is usage/api.ts.
 */

export const HEALTH_STATUSES = ['ok', 'degraded', 'needs_auth'] as const;

export const healthBodySchema = z.object({
  status: z.enum(HEALTH_STATUSES),
  version: z.string(),
  uptime_s: z.number(),
  token: tokenJsonSchema,
  upstream: gatewayStateSchema,
  in_flight: z.number(),
  in_flight_streams: z.number(),
  requests_total: z.number(),
  /** Which data dir this proxy serves (config/identity.ts) and which process it is: never a path. */
  instance: z.object({ data_dir_id: z.string(), id: z.string() }),
});
export type HealthBody = z.infer<typeof healthBodySchema>;

/** `POST /admin/sign-in`: the device flow's code to enter (null once signed in or when it ended without one), or why it could not start. */
export const signInBodySchema = z.object({
  sign_in: z.object({ verification_uri: z.string(), user_code: z.string(), expires_at: z.number() }).nullable(),
  token: tokenJsonSchema,
});
export type SignInBody = z.infer<typeof signInBodySchema>;

/** `POST /admin/setup`: the dashboard's "Set up" button runs `setup <client>` (cli/setup.ts) in the proxy; what it said. */
export const setupRequestSchema = z.object({ client: z.enum(SETUP_FILE_CLIENTS), model: z.string().min(1).max(256).optional() }).strict();
export const setupBodySchema = z.object({ ok: z.boolean(), lines: z.array(z.string()) });
export type SetupBody = z.infer<typeof setupBodySchema>;
