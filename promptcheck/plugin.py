"""pytest plugin entry point (``pytest11``). Options and fixtures land with the plugin issue."""
