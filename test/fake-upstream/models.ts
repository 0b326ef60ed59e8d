// Copilot `GET /models` fixture, in the shape api.githubcopilot.com returns it
// (field set and value style taken from public captures of the real response; see README).

export interface CopilotModelVisionLimits {
  max_prompt_image_size: number;
  max_prompt_images: number;
  supported_media_types: string[];
}

export interface CopilotModelLimits {
  max_context_window_tokens?: number;
  max_output_tokens?: number;
  max_prompt_tokens?: number;
  max_inputs?: number;
  vision?: CopilotModelVisionLimits;
}

export interface CopilotModelSupports {
  streaming?: boolean;
  tool_calls?: boolean;
  parallel_tool_calls?: boolean;
  vision?: boolean;
  structured_outputs?: boolean;
  dimensions?: boolean;
  reasoning_effort?: string[];
  /** 2026: Claude models that think on their own, and the thinking budget range they take. */
  adaptive_thinking?: boolean;
  min_thinking_budget?: number;
  max_thinking_budget?: number;
}

export interface CopilotModel {
  id: string;
  name: string;
  object: 'model';
  vendor: string;
  version: string;
  preview: boolean;
  model_picker_enabled: boolean;
  model_picker_category?: 'lightweight' | 'versatile' | 'powerful';
  is_chat_default: boolean;
  is_chat_fallback: boolean;
  policy?: { state: 'enabled' | 'disabled' | 'unconfigured'; terms: string };
  /** Absent on older models (real quirk): treat absence as chat-completions only. */
  supported_endpoints?: string[];
  billing?: { is_premium: boolean; multiplier: number; restricted_to?: string[] };
  capabilities: {
    family: string;
    object: 'model_capabilities';
    type: 'chat' | 'embeddings' | 'completion';
    tokenizer: string;
    limits: CopilotModelLimits;
    supports: CopilotModelSupports;
  };
}

const VISION: CopilotModelVisionLimits = {
  max_prompt_image_size: 3145728,
  max_prompt_images: 1,
  supported_media_types: ['image/jpeg', 'image/png', 'image/webp', 'image/gif'],
};

const ALL_PLANS = ['free', 'pro', 'pro_plus', 'business', 'enterprise'];
const PAID_PLANS = ['pro', 'pro_plus', 'max', 'business', 'enterprise'];

function openaiTerms(name: string): string {
  return `Enable access to the latest ${name} model from OpenAI. [Learn more about how GitHub Copilot serves ${name}](https://gh.io/copilot-openai).`;
}

/** A fresh, deep copy of the default model list (tests may mutate it through `fake.models`). */
export function defaultModels(): CopilotModel[] {
  const models: CopilotModel[] = [
    {
      id: 'gpt-4.1',
      name: 'GPT-4.1',
      object: 'model',
      vendor: 'Azure OpenAI',
      version: 'gpt-4.1-2025-04-14',
      preview: false,
      model_picker_enabled: true,
      model_picker_category: 'versatile',
      is_chat_default: false,
      is_chat_fallback: true,
      policy: { state: 'enabled', terms: openaiTerms('GPT-4.1') },
      supported_endpoints: ['/chat/completions', '/responses'],
      billing: { is_premium: false, multiplier: 0, restricted_to: ALL_PLANS },
      capabilities: {
        family: 'gpt-4.1',
        object: 'model_capabilities',
        type: 'chat',
        tokenizer: 'o200k_base',
        limits: { max_context_window_tokens: 128000, max_output_tokens: 16384, max_prompt_tokens: 128000, vision: VISION },
        supports: { streaming: true, tool_calls: true, parallel_tool_calls: true, vision: true, structured_outputs: true },
      },
    },
    {
      // No supported_endpoints and no policy: older entries really look like this.
      id: 'gpt-4o',
      name: 'GPT-4o',
      object: 'model',
      vendor: 'Azure OpenAI',
      version: 'gpt-4o-2024-11-20',
      preview: false,
      model_picker_enabled: false,
      model_picker_category: 'versatile',
      is_chat_default: false,
      is_chat_fallback: false,
      billing: { is_premium: false, multiplier: 0, restricted_to: ALL_PLANS },
      capabilities: {
        family: 'gpt-4o',
        object: 'model_capabilities',
        type: 'chat',
        tokenizer: 'o200k_base',
        limits: { max_context_window_tokens: 128000, max_output_tokens: 16384, max_prompt_tokens: 63988, vision: VISION },
        // The thinking fields as a recorded 2026 Claude entry carries them (test/fixtures/copilot/RESEARCH-2026.md §4).
        supports: { streaming: true, tool_calls: true, parallel_tool_calls: true, vision: true, adaptive_thinking: true, min_thinking_budget: 1024, max_thinking_budget: 32000 },
      },
    },
    {
      id: 'gpt-5-mini',
      name: 'GPT-5 mini',
      object: 'model',
      vendor: 'Azure OpenAI',
      version: 'gpt-5-mini',
      preview: false,
      model_picker_enabled: true,
      model_picker_category: 'lightweight',
      is_chat_default: true,
      is_chat_fallback: false,
      policy: { state: 'enabled', terms: openaiTerms('GPT-5 mini') },
      supported_endpoints: ['/chat/completions', '/responses'],
      billing: { is_premium: false, multiplier: 0, restricted_to: ALL_PLANS },
      capabilities: {
        family: 'gpt-5-mini',
        object: 'model_capabilities',
        type: 'chat',
        tokenizer: 'o200k_base',
        limits: { max_context_window_tokens: 264000, max_output_tokens: 64000, max_prompt_tokens: 127988, vision: VISION },
        supports: {
          streaming: true,
          tool_calls: true,
          parallel_tool_calls: true,
          vision: true,
          structured_outputs: true,
          reasoning_effort: ['low', 'medium', 'high'],
        },
      },
    },
    {
      // Responses-only model: /chat/completions answers 400 unsupported_api_for_model.
      id: 'gpt-5.1-codex',
      name: 'GPT-5.1-Codex',
      object: 'model',
      vendor: 'OpenAI',
      version: 'gpt-5.1-codex',
      preview: false,
      model_picker_enabled: true,
      model_picker_category: 'powerful',
      is_chat_default: false,
      is_chat_fallback: false,
      policy: { state: 'enabled', terms: openaiTerms('GPT-5.1-Codex') },
      // 2026: responses-only models also list the WebSocket transport (VS Code Copilot Chat's endpoint types).
      supported_endpoints: ['/responses', 'ws:/responses'],
      billing: { is_premium: true, multiplier: 1, restricted_to: PAID_PLANS },
      capabilities: {
        family: 'gpt-5.1-codex',
        object: 'model_capabilities',
        type: 'chat',
        tokenizer: 'o200k_base',
        limits: { max_context_window_tokens: 400000, max_output_tokens: 128000, max_prompt_tokens: 128000, vision: VISION },
        supports: {
          streaming: true,
          tool_calls: true,
          parallel_tool_calls: true,
          vision: true,
          structured_outputs: true,
          reasoning_effort: ['low', 'medium', 'high'],
        },
      },
    },
    {
      id: 'claude-sonnet-4',
      name: 'Claude Sonnet 4',
      object: 'model',
      vendor: 'Anthropic',
      version: 'claude-sonnet-4',
      preview: false,
      model_picker_enabled: true,
      model_picker_category: 'versatile',
      is_chat_default: false,
      is_chat_fallback: false,
      policy: {
        state: 'enabled',
        terms:
          'Enable access to the latest Claude Sonnet 4 model from Anthropic. [Learn more about how GitHub Copilot serves Claude Sonnet 4](https://docs.github.com/en/copilot/using-github-copilot/ai-models/using-claude-sonnet-in-github-copilot).',
      },
      supported_endpoints: ['/chat/completions', '/v1/messages'],
      billing: { is_premium: true, multiplier: 1, restricted_to: PAID_PLANS },
      capabilities: {
        family: 'claude-sonnet-4',
        object: 'model_capabilities',
        type: 'chat',
        tokenizer: 'o200k_base',
        limits: { max_context_window_tokens: 216000, max_output_tokens: 16000, max_prompt_tokens: 128000, vision: VISION },
        supports: { streaming: true, tool_calls: true, parallel_tool_calls: true, vision: true },
      },
    },
    {
      id: 'text-embedding-3-small',
      name: 'Embedding V3 small',
      object: 'model',
      vendor: 'Azure OpenAI',
      version: 'text-embedding-3-small',
      preview: false,
      model_picker_enabled: false,
      is_chat_default: false,
      is_chat_fallback: false,
      billing: { is_premium: false, multiplier: 0, restricted_to: ALL_PLANS },
      capabilities: {
        family: 'text-embedding-3-small',
        object: 'model_capabilities',
        type: 'embeddings',
        tokenizer: 'cl100k_base',
        limits: { max_inputs: 512 },
        supports: { dimensions: true },
      },
    },
  ];
  // gpt-5-codex, the name Codex CLI and opencode default to: responses-only like gpt-5.1-codex.
  const codex = models.find((m) => m.id === 'gpt-5.1-codex');
  if (codex) {
    const at = models.indexOf(codex) + 1;
    models.splice(at, 0, { ...structuredClone(codex), id: 'gpt-5-codex', name: 'GPT-5-Codex', version: 'gpt-5-codex', capabilities: { ...structuredClone(codex.capabilities), family: 'gpt-5-codex' } });
  }
  // structuredClone keeps the shared constants (VISION, plan lists) from being aliased.
  return structuredClone(models);
}

/** Endpoints a model accepts; an absent list means chat-completions only. */
export function endpointsOf(m: CopilotModel): string[] {
  return m.supported_endpoints ?? (m.capabilities.type === 'embeddings' ? ['/embeddings'] : ['/chat/completions']);
}
