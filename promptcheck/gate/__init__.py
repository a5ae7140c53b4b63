"""The pytest gate's parts besides the plugin's hooks: session state (session.py) and rendering (tables.py)."""
