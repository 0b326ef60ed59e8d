import * as z from 'zod';
import { LOG_LEVELS } from '../config/schema.ts';
import { tokenSnapshotSchema, type TokenSnapshot } from '../auth/snapshot.ts';
import { creditsSchema, usageSummarySchema } from '../usage/api.ts';
import { usageLimitSchema } from '../upstream/usage-limit.ts';

export { tokenSnapshotSchema };

/**
 * Every message between the tray process and the proxy child, as one
 * discriminated union. Both sides validate what they receive with these schemas.
 * Nothing here ever carries a token.
 */

const modelSummary = z.object({ id: z.string(), name: z.string(), vendor: z.string() });

/** Child -> tray. */
export const childMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), url: z.string(), port: z.number(), pid: z.number() }),
  z.object({ type: z.literal('listen-failed'), code: z.string(), message: z.string() }),
  z.object({ type: z.literal('token'), snapshot: tokenSnapshotSchema }),
  z.object({ type: z.literal('models'), requestId: z.string(), models: z.array(modelSummary).nullable(), error: z.string().nullable() }),
  z.object({
    type: z.literal('usage'),
    requestId: z.string(),
    usage: usageSummarySchema.pick({ remaining: true, entitlement: true, unlimited: true, resetDate: true }).nullable(),
    /** This month's AI credits through the proxy and the allowance (needs no sign-in). */
    credits: creditsSchema.pick({ month: true, allowance: true, resetsAt: true }).nullable(),
    error: z.string().nullable(),
  }),
  /** Copilot's weekly or session limit started (the limit) or ended (null). */
  z.object({ type: z.literal('limit'), limit: usageLimitSchema.nullable() }),
  z.object({ type: z.literal('refresh-done'), requestId: z.string(), ok: z.boolean(), error: z.string().nullable() }),
  z.object({ type: z.literal('sign-in-code'), verificationUri: z.string(), userCode: z.string(), expiresAt: z.number() }),
  z.object({ type: z.literal('sign-in-done'), ok: z.boolean(), error: z.string().nullable() }),
  z.object({ type: z.literal('log'), level: z.enum(LOG_LEVELS), message: z.string() }),
]);

/** Tray -> child. */
export const trayMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('refresh'), requestId: z.string() }),
  z.object({ type: z.literal('get-models'), requestId: z.string() }),
  z.object({ type: z.literal('get-usage'), requestId: z.string() }),
  z.object({ type: z.literal('sign-in') }),
  z.object({ type: z.literal('cancel-sign-in') }),
  // The tray's "Sign out": the child forgets the tokens and clears the store; its `token` message follows.
  z.object({ type: z.literal('sign-out') }),
  z.object({ type: z.literal('shutdown') }),
]);

export type ChildMessage = z.infer<typeof childMessageSchema>;
export type TrayMessage = z.infer<typeof trayMessageSchema>;
export type IpcTokenSnapshot = TokenSnapshot;

export function parseChildMessage(raw: unknown): ChildMessage | null {
  const r = childMessageSchema.safeParse(raw);
  return r.success ? r.data : null;
}

export function parseTrayMessage(raw: unknown): TrayMessage | null {
  const r = trayMessageSchema.safeParse(raw);
  return r.success ? r.data : null;
}
