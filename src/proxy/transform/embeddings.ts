import * as z from 'zod';
import { UpstreamHttpError } from '../../errors.ts';
import { parseOrThrow } from './validate.ts';

/**
 * Pure transforms between OpenAI embeddings clients and Copilot's /embeddings.
 *
 * The OpenAI SDK asks for `encoding_format: "base64"` unless told otherwise and
 * decodes the strings itself. Copilot does not document whether it honours
 * `encoding_format`, so we always ask it for floats and encode on our side
 * (little-endian float32, as OpenAI does) when the client asked for base64.
 */

const tokenArray = z.array(z.number().int());
export const embeddingsRequestSchema = z
  .object({
    model: z.string({ error: 'model is required and must be a string' }).min(1, 'model must not be empty'),
    input: z.union(
      [
        z.string(),
        z.array(z.string()).min(1, 'input must not be empty'),
        tokenArray.min(1, 'input must not be empty'),
        z.array(tokenArray).min(1, 'input must not be empty'),
      ],
      { error: 'input must be a string, an array of strings, or token arrays' },
    ),
    encoding_format: z.enum(['float', 'base64'], { error: 'encoding_format must be "float" or "base64"' }).nullish(),
    dimensions: z.number().int().positive().nullish(),
    user: z.string().nullish(),
  })
  .passthrough();

export type EncodingFormat = 'float' | 'base64';

export interface PreparedEmbeddings {
  upstreamBody: Record<string, unknown>;
  model: string;
  format: EncodingFormat;
}

export function prepareEmbeddings(body: unknown): PreparedEmbeddings {
  const req = parseOrThrow(embeddingsRequestSchema, body);
  const model = req.model;
  const { encoding_format: format, ...rest } = req;
  const upstreamBody: Record<string, unknown> = { ...rest, model };
  for (const k of ['dimensions', 'user'] as const) if (upstreamBody[k] === null) delete upstreamBody[k];
  return { upstreamBody, model, format: format ?? 'float' };
}

/** OpenAI's base64 embedding: the float32 values, little-endian. */
export function floatsToBase64(v: readonly number[]): string {
  const buf = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => buf.writeFloatLE(x, i * 4));
  return buf.toString('base64');
}

export function base64ToFloats(s: string): number[] {
  const buf = Buffer.from(s, 'base64');
  const out: number[] = [];
  for (let i = 0; i + 4 <= buf.length; i += 4) out.push(buf.readFloatLE(i));
  return out;
}

const upstreamSchema = z
  .object({
    data: z.array(
      z
        .object({
          embedding: z.union([z.array(z.number()), z.string()]),
          index: z.number().int().nullish(),
        })
        .passthrough(),
    ),
    model: z.string().nullish(),
    usage: z.object({ prompt_tokens: z.number().nullish(), total_tokens: z.number().nullish() }).passthrough().nullish(),
  })
  .passthrough();

export interface EmbeddingsResponse {
  object: 'list';
  data: Array<{ object: 'embedding'; index: number; embedding: number[] | string }>;
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

/** The OpenAI list shape, each vector in the encoding the client asked for. */
export function normalizeEmbeddings(raw: unknown, requestModel: string, format: EncodingFormat): EmbeddingsResponse {
  const parsed = upstreamSchema.safeParse(raw);
  if (!parsed.success) throw new UpstreamHttpError(502, `Copilot /embeddings returned an unexpected shape: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const r = parsed.data;
  const data = r.data.map((d, i) => {
    const floats = typeof d.embedding === 'string' ? base64ToFloats(d.embedding) : d.embedding;
    const embedding = format === 'base64' ? (typeof d.embedding === 'string' ? d.embedding : floatsToBase64(floats)) : floats;
    return { object: 'embedding' as const, index: d.index ?? i, embedding };
  });
  const prompt = r.usage?.prompt_tokens ?? 0;
  return {
    object: 'list',
    data,
    model: r.model || requestModel,
    usage: { prompt_tokens: prompt, total_tokens: r.usage?.total_tokens ?? prompt },
  };
}
