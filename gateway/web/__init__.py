"""The web inbox: a small front end the gateway serves itself (docs/architecture.md, "The web inbox").

Plain HTML, CSS and JavaScript modules under `static/`, shipped inside the Python package and
served from the gateway's own origin: no build step, no CDN, no second install. The page talks to
the same REST API a CRM uses (/api/v1, signed in with an operator session) and follows the event
stream for live updates.
"""
