"""All SQL of the gateway, one module per aggregate; controllers and adapters call these."""
