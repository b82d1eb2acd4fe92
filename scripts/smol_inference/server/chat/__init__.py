"""Chat handling of the course server: chat requests and templates, tools, tool calls and structured
output. text_generation_inference.md, "Structured output and tool calling"."""
