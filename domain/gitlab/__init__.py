"""GitLab domain: identities, namespaces, projects, access checks, subscriptions."""
