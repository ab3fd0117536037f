"""Who is calling: the caller's identity (an API key or a JWT), its scopes, and its tenant's quota.

Nothing here knows the web layer: ``orchestrator/web/auth.py`` reads the credential from the
request and answers 401, 403 or 429 with what these modules decide.
"""
