"""Who may do what: room links as users, the access policy, and the hooks that apply it
(identity provider, authorizer, contents manager, page config, the link landing page)."""
