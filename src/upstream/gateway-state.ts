import * as z from 'zod';
import { usageLimitSchema } from './usage-limit.ts';

/** The gateway's counters and breaker state, as /health carries them (the schema the dashboard reads them with). Pure. */
export const gatewayStateSchema = z.object({
  circuit: z.enum(['closed', 'open', 'half_open']),
  consecutiveFailures: z.number(),
  /** Upstream calls holding a slot right now (streams count until they end). */
  inFlight: z.number(),
  /** Calls waiting for a slot. */
  queued: z.number(),
  /** Retries made since start (attempts beyond the first). */
  retries: z.number(),
  maxConcurrency: z.number(),
  maxQueue: z.number(),
  /** Times the circuit opened since start. */
  circuitOpens: z.number(),
  /** Calls answered 503 because the circuit was open. */
  circuitRejections: z.number(),
  /** Calls answered 429 because the queue was full. */
  overloadRejections: z.number(),
  /** Calls that failed with upstream trouble after their retries. */
  failures: z.number(),
  /** Copilot's weekly or session limit while it holds (calls it covers are answered 429 here), else null. */
  limit: usageLimitSchema.nullable(),
  /** Calls answered 429 locally because of that limit, since start. */
  limitRejections: z.number(),
});
export type GatewayState = z.infer<typeof gatewayStateSchema>;
