"""The ops console: a server-rendered FastAPI app over the same services the CLI uses."""
