"""One view model per page. Each takes the session's ``AppState`` and can be driven without a browser."""
