import type { CopilotModel } from '../../upstream/copilot-client.ts';

/** OpenAI's model object, with Copilot's useful fields kept under extra keys. */
export interface OpenAIModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  name?: string;
  vendor?: string;
  version?: string;
  preview?: boolean;
  model_picker_enabled?: boolean;
  capabilities?: CopilotModel['capabilities'];
  supported_endpoints?: string[];
  billing?: CopilotModel['billing'];
  policy?: CopilotModel['policy'];
}

export function toOpenAIModel(m: CopilotModel): OpenAIModel {
  const out: OpenAIModel = {
    id: m.id,
    object: 'model',
    // Copilot has no creation time; 0 is stable and parses everywhere.
    created: 0,
    owned_by: (m.vendor ?? 'github-copilot').toLowerCase(),
  };
  if (m.name !== undefined) out.name = m.name;
  if (m.vendor !== undefined) out.vendor = m.vendor;
  if (m.version !== undefined) out.version = m.version;
  if (m.preview !== undefined) out.preview = m.preview;
  if (m.model_picker_enabled !== undefined) out.model_picker_enabled = m.model_picker_enabled;
  if (m.capabilities !== undefined) out.capabilities = m.capabilities;
  if (m.supported_endpoints !== undefined) out.supported_endpoints = m.supported_endpoints;
  if (m.billing !== undefined) out.billing = m.billing;
  if (m.policy !== undefined) out.policy = m.policy;
  return out;
}

export function toOpenAIModelList(models: CopilotModel[]): { object: 'list'; data: OpenAIModel[] } {
  // Copilot can list one id twice (e.g. per picker category); first wins.
  const seen = new Set<string>();
  const data: OpenAIModel[] = [];
  for (const m of models) {
    if (seen.has(m.id)) continue;
    seen.add(m.id);
    data.push(toOpenAIModel(m));
  }
  return { object: 'list', data };
}

/** The Go tool's `allowed_models`: an empty list allows every model. */
export function allowedModels<T extends { id: string }>(models: T[], allowed: readonly string[]): T[] {
  if (allowed.length === 0) return models;
  const set = new Set(allowed);
  return models.filter((m) => set.has(m.id));
}
