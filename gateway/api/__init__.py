"""The HTTP face of the gateway: REST API for the CRM, platform callbacks, ops endpoints."""
