"""Channel adapters: one module per platform; nothing platform-specific leaks inward."""
