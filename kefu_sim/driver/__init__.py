"""The /_sim driver API: routes named after the platform they drive (server), `SimDriver` in client*.py (client)."""
