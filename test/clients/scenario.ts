import { z } from 'zod';

/** What run-scenario.ts is asked to do (the spec crosses a process boundary: one schema). */
export const scenarioSpecSchema = z.object({
  command: z.string(),
  args: z.array(z.string()),
  env: z.record(z.string(), z.string()).optional(),
  /** Files to write before the client starts (path -> content), `{{HOME}}`/`{{WORK}}`/`{{PROXY}}` filled. */
  files: z.record(z.string(), z.string()).optional(),
  /** Extra proxy config.json keys. */
  config: z.record(z.string(), z.unknown()).optional(),
  fake: z.object({ acceptSystemRole: z.boolean().optional() }).optional(),
  /** `github-copilot-svcs setup <client>` (the built CLI) writes the client's config into its HOME first, as a user would. */
  setup: z.object({ client: z.enum(['claude-code', 'codex', 'opencode']), model: z.string().optional() }).optional(),
  timeoutMs: z.number().optional(),
});
export type ScenarioSpec = z.infer<typeof scenarioSpecSchema>;

export const scenarioResultSchema = z.object({
  code: z.number().nullable(),
  signal: z.string().nullable(),
  ms: z.number(),
  stdout: z.string(),
  stderr: z.string(),
  /** Files in the client's working directory afterwards (small ones), by relative path. */
  files: z.record(z.string(), z.string()),
  /** What the fake Copilot received (GitHub auth calls left out). */
  requests: z.array(z.object({ method: z.string(), path: z.string(), headers: z.record(z.string(), z.string()), body: z.unknown().optional() })),
  /** The proxy's request lines and warnings. */
  proxyLog: z.array(z.string()),
  /** What `setup` printed (empty without one), and the config file it wrote. */
  setupOutput: z.string(),
});
export type ScenarioResult = z.infer<typeof scenarioResultSchema>;
