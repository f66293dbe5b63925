"""Business rules and transactions, without Flask: pages, API, CLI and scheduler share them."""
