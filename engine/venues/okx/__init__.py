"""OKX: its formats (`formats`, pure), WebSocket messages to events (`pushes`, `book`, `reader`,
pure), the REST client (`rest`), and a local fake of its REST endpoints for tests (`fake_rest`).
Import the module you need; this package imports nothing."""
