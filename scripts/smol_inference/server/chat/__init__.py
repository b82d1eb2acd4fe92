"""Chat handling of the course server: chat requests and templates, tools, tool calls and structured
output. text_generation_inference/structured_output.md, "Structured output and tool calling"."""
