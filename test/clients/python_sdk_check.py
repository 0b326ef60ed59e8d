"""The official OpenAI Python SDK against the proxy: Chat Completions, stream and
non-stream, with and without tools, on a model Copilot serves only on /responses.
Prints one JSON line with what the SDK returned. Run by clients.test.ts."""
import json
import os
import sys

from openai import OpenAI

client = OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="dummy", max_retries=0)
model = sys.argv[1]
out = {"sdk_version": __import__("openai").__version__}

r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hello from python"}])
out["non_stream"] = {"content": r.choices[0].message.content, "finish": r.choices[0].finish_reason, "usage": r.usage.total_tokens if r.usage else None}

text, finish, usage = "", None, None
for chunk in client.chat.completions.create(model=model, stream=True, stream_options={"include_usage": True}, messages=[{"role": "user", "content": "streamed from python"}]):
    if chunk.choices:
        text += chunk.choices[0].delta.content or ""
        finish = chunk.choices[0].finish_reason or finish
    if chunk.usage:
        usage = chunk.usage.total_tokens
out["stream"] = {"content": text, "finish": finish, "usage": usage}

tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
calls, finish = {}, None
for chunk in client.chat.completions.create(model=model, stream=True, tools=tools, messages=[{"role": "user", "content": "What is the weather in Paris?"}]):
    if not chunk.choices:
        continue
    for tc in chunk.choices[0].delta.tool_calls or []:
        c = calls.setdefault(tc.index, {"id": None, "name": None, "arguments": ""})
        c["id"] = tc.id or c["id"]
        if tc.function:
            c["name"] = tc.function.name or c["name"]
            c["arguments"] += tc.function.arguments or ""
    finish = chunk.choices[0].finish_reason or finish
call = calls.get(0)
out["tool_stream"] = {"finish": finish, "name": call and call["name"], "arguments": call and json.loads(call["arguments"])}

r = client.chat.completions.create(
    model=model,
    tools=tools,
    messages=[
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": call["id"], "type": "function", "function": {"name": "get_weather", "arguments": call["arguments"]}}]},
        {"role": "tool", "tool_call_id": call["id"], "content": "sunny"},
    ],
)
out["tool_result"] = r.choices[0].message.content
print(json.dumps(out))
