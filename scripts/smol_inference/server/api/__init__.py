"""The course server's HTTP API: TGI routes, OpenAI routes, request and response bodies, the OpenAPI
document and the middleware. text_generation_inference/differences_from_tgi.md, "The API"."""
